-- The planner estimates how many appeals a quick-search word matches (`search_text like
-- '%word%'`) from the column's histogram. With PostgreSQL's default of 100 entries a surname
-- that 1.7 % of a million appeals carry was estimated at 0.01 %: the planner then fetched all
-- 17,000 of them to sort out the newest 50 (140 ms) instead of walking the (received_at) index
-- until it had 50 (20 ms). With 1,000 entries common and rare words are both estimated about
-- right; planning a search stays near 1 ms.
alter table appeals alter column search_text set statistics 1000;
analyze appeals;
