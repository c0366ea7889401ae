// The knowledge base: search and read; admins edit.
import type { CommandError } from "../api/core";
import { deleteArticle, getArticle, saveArticle, searchArticles } from "../api/directory";
import type { Article } from "../generated/Article";
import type { AppContext } from "../lib/app";
import { debounce, h, replace, uuidv7 } from "../lib/h";
import { t } from "../lib/i18n";

export function mountKb(root: HTMLElement, ctx: AppContext): () => void {
  const search = h("input", { id: "kb-search", type: "search", placeholder: t.kb.search });
  const hits = h("ul", { class: "kb-hits", id: "kb-hits" });
  const view = h("article", { class: "kb-article", id: "kb-article" });
  const isAdmin = ctx.me.role === "admin";
  root.replaceChildren(
    h(
      "section",
      { class: "kb" },
      h("div", { class: "toolbar" }, h("strong", null, t.kb.title), search, isAdmin ? h("button", { onclick: () => edit(null) }, t.kb.newArticle) : null),
      h("div", { class: "split" }, hits, view),
    ),
  );
  const find = async () => {
    const found = await searchArticles(search.value);
    replace(
      hits,
      found.map((a) => {
        const snippet = h("div", { class: "muted" });
        // Matches come between « and »; show them bold without touching innerHTML.
        a.snippet.split(/(«[^»]*»)/).forEach((part) => snippet.append(part.startsWith("«") ? h("b", null, part.slice(1, -1)) : part));
        return h("li", null, h("button", { class: "link", onclick: () => void open(a.id) }, a.title), snippet);
      }),
    );
  };
  const open = async (id: string) => {
    const a = await getArticle(id);
    const remove = h("button", { id: "kb-delete", onclick: async () => {
      // Asked once more on the button itself: a second press deletes.
      if (!remove.dataset.sure) {
        remove.dataset.sure = "1";
        remove.textContent = t.kb.deleteSure;
        return;
      }
      try {
        await deleteArticle(a.id);
        ctx.toast(`${t.kb.deleted}: ${a.title}`);
        replace(view);
        void find();
      } catch (e) {
        ctx.toast((e as CommandError).message, "error");
      }
    } }, t.kb.delete);
    replace(
      view,
      h("h2", null, a.title),
      ...a.body.split("\n").map((p) => h("p", null, p)),
      isAdmin ? h("div", { class: "form-row" }, h("button", { onclick: () => edit(a) }, t.kb.edit), remove) : null,
    );
  };
  const edit = (a: Article | null) => {
    const title = h("input", { id: "kb-title", value: a?.title ?? "" });
    const body = h("textarea", { id: "kb-body", rows: 14 }, a?.body ?? "");
    const tags = h("input", { id: "kb-tags", value: a?.tags.join(", ") ?? "" });
    replace(
      view,
      h("label", { class: "field" }, t.kb.articleTitle, title),
      h("label", { class: "field" }, t.kb.articleBody, body),
      h("label", { class: "field" }, t.kb.articleTags, tags),
      h("button", { class: "primary", onclick: async () => {
        const article: Article = { id: a?.id ?? uuidv7(), title: title.value, body: body.value, tags: tags.value.split(",").map((s) => s.trim()).filter(Boolean), updatedAt: new Date().toISOString() };
        try {
          await saveArticle(article);
          void find();
          void open(article.id);
        } catch (e) {
          ctx.toast((e as CommandError).message, "error");
        }
      } }, t.kb.save),
    );
  };
  search.addEventListener("input", debounce(() => void find(), 250));
  void find();
  search.focus();
  return () => {};
}
