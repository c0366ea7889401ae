//! Calls to a real Asterisk's echo (600): setup time seen from both sides, and CPU per call.
//! Run it with `scripts/bench-phone.sh` (it builds this in release, starts Asterisk in a
//! network namespace, runs this, stops Asterisk).
//!
//! 1. Setup: `DIALOG_BENCH_SETUP_CALLS` (50) sequential PCMU calls from 2004 to 600: INVITE
//!    sent → first audio decoded (`CallRecord::setup`), p50 / p95 / max; and from Asterisk's
//!    side, in its log (`rtp set debug on`): its first INVITE of the call received → the first
//!    RTP packet from the phone. Target: p95 ≤ 100 ms on loopback.
//! 2. Cost: N simultaneous calls to 600 (`DIALOG_BENCH_CALLS`, `1,2,4`), PCMU then PCMA, held
//!    `DIALOG_BENCH_SECONDS` (20): CPU of this process and of Asterisk over the window, per call,
//!    in % of one core; resident memory.
//!
//! Our audio: a [`ToneSource`] and a [`NullSink`], recording on (as in production).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Asterisk;
use dialog_phone::media::{Codec, NullSink, ToneSource};
use dialog_phone::phone::{AudioPair, CallRecord, LineState, Phone, PhoneConfig};
use tokio::sync::mpsc::UnboundedReceiver;
use uuid::Uuid;

const SETUP_TARGET: Duration = Duration::from_millis(100);
const WAIT: Duration = Duration::from_secs(15);
const CLOCK_TICKS_PER_SECOND: u64 = 100;

type Res<T> = Result<T, String>;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| format!("{name}={v}: not a number")),
        _ => Ok(default),
    }
}

// ------------------------------------------------------------------ /proc

/// CPU time (per-thread ns counters, and utime + stime) and resident memory of a process.
#[derive(Clone, Default)]
struct ProcSample {
    ticks_cpu: Duration,
    threads: HashMap<u32, u64>,
    rss_kib: u64,
}

impl ProcSample {
    fn cpu_until(&self, later: &ProcSample) -> Duration {
        let ns: u64 = later
            .threads
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(self.threads.get(tid).copied().unwrap_or(0)))
            .sum();
        let precise = Duration::from_nanos(ns);
        let exited = self.threads.keys().any(|t| !later.threads.contains_key(t));
        let coarse = later.ticks_cpu.saturating_sub(self.ticks_cpu);
        if exited && coarse > precise + Duration::from_millis(20) {
            coarse
        } else {
            precise
        }
    }
}

fn proc_sample(pid: &str) -> Res<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("unexpected /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    let mut threads = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(line) = std::fs::read_to_string(task.path().join("schedstat")) {
            if let Some(ns) = line.split_whitespace().next().and_then(|v| v.parse().ok()) {
                threads.insert(tid, ns);
            }
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(ProcSample {
        ticks_cpu: Duration::from_millis((tick(11) + tick(12)) * 1000 / CLOCK_TICKS_PER_SECOND),
        threads,
        rss_kib,
    })
}

// ------------------------------------------------------------------ figures

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn summary(series: &mut [Duration]) -> String {
    series.sort();
    format!(
        "p50 {:>6}  p95 {:>6}  max {:>6}  (n={})",
        ms(percentile(series, 0.5)),
        ms(percentile(series, 0.95)),
        ms(series.last().copied().unwrap_or_default()),
        series.len()
    )
}

// ------------------------------------------------------------------ our phone

struct Ours {
    phone: Phone,
    records: UnboundedReceiver<CallRecord>,
}

async fn start_phone(pbx: &Asterisk, ext: &str, codec: Codec) -> Res<Ours> {
    let audio =
        Arc::new(|| -> Result<AudioPair, String> { Ok((Box::new(ToneSource::new(700.0, 8000)), Box::new(NullSink))) });
    let mut c = PhoneConfig::new(&pbx.ws, ext, &Asterisk::password(ext), audio);
    c.domain = Some(pbx.address.clone());
    c.media.codecs = vec![codec];
    let (phone, records) = Phone::start(c).map_err(|e| format!("the phone did not start: {e}"))?;
    if let Err(s) = phone.wait_for(WAIT, |s| s.line == LineState::Registered).await {
        return Err(format!("{ext} did not register on {}: {}", pbx.ws, s.message));
    }
    Ok(Ours { phone, records })
}

impl Ours {
    async fn record(&mut self) -> Res<CallRecord> {
        match tokio::time::timeout(WAIT, self.records.recv()).await {
            Ok(Some(r)) => Ok(r),
            _ => Err(format!("no call record within {WAIT:?}")),
        }
    }

    async fn wait_audio(&self, id: Uuid) -> Res<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.phone.stats(id).await {
                if s.first_audio_at.is_some() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "no audio within {WAIT:?} (ICE {:?}, DTLS {:?}, {} packets)",
                        s.ice, s.dtls, s.packets_received
                    ));
                }
            } else if Instant::now() > deadline {
                return Err("the call has no media".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

// ------------------------------------------------------------------ Asterisk's log

/// `[2026-12-06 02:21:24.527] ...` → milliseconds since midnight.
fn log_time(line: &str) -> Option<u64> {
    let t = line.strip_prefix('[')?.get(11..23)?;
    let (h, rest) = t.split_once(':')?;
    let (m, s) = rest.split_once(':')?;
    let secs: f64 = s.parse().ok()?;
    Some((h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60) * 1000 + (secs * 1000.0).round() as u64)
}

/// For each call in Asterisk's log: its first INVITE received → the first RTP packet Asterisk
/// got after it (calls are sequential, so the next RTP belongs to that call).
fn asterisk_side(log: &str) -> Vec<Duration> {
    let lines: Vec<&str> = log.lines().collect();
    let mut out = Vec::new();
    let mut seen_calls: Vec<String> = Vec::new();
    let mut invite_at: Option<u64> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.contains("<--- Received SIP request")
            && lines.get(i + 1).is_some_and(|l| l.starts_with("INVITE sip:600@"))
        {
            let call_id = lines[i + 1..]
                .iter()
                .take(20)
                .find_map(|l| l.strip_prefix("Call-ID: "))
                .unwrap_or_default()
                .to_owned();
            if !seen_calls.contains(&call_id) {
                seen_calls.push(call_id);
                invite_at = log_time(line);
            }
        } else if line.contains("Got  RTP packet from") {
            if let (Some(start), Some(t)) = (invite_at.take(), log_time(line)) {
                out.push(Duration::from_millis(t.saturating_sub(start)));
            }
        }
    }
    out
}

// ------------------------------------------------------------------ 1. setup

async fn setup(pbx: &Asterisk, calls: usize) -> Res<()> {
    let mut ours = start_phone(pbx, "2004", Codec::Pcmu).await?;
    // One cold call first, not counted.
    let mut times = Vec::new();
    let mut cold = None;
    pbx.rx("rtp set debug on").await.map_err(|e| e.to_string())?;
    let log_from = pbx.full_log().len();
    for i in 0..=calls {
        let id = ours.phone.call("600").await.map_err(|e| format!("call {i}: {e}"))?;
        ours.wait_audio(id).await.map_err(|e| format!("call {i}: {e}"))?;
        ours.phone.hangup(id).await.map_err(|e| e.to_string())?;
        let rec = ours.record().await?;
        let setup = rec.setup.ok_or("no setup time in the record")?;
        if i == 0 {
            cold = Some(setup);
        } else {
            times.push(setup);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pbx.rx("rtp set debug off").await.map_err(|e| e.to_string())?;
    let mut theirs = asterisk_side(&pbx.full_log()[log_from..]);
    let theirs_cold = (!theirs.is_empty()).then(|| theirs.remove(0));
    println!("\n== call setup against Asterisk's echo, PCMU ({calls} sequential calls after a cold one)");
    let p95 = {
        times.sort();
        percentile(&times, 0.95)
    };
    println!(
        "  phone:    INVITE sent → first audio decoded     {}   target p95 ≤ {}: {}",
        summary(&mut times),
        ms(SETUP_TARGET),
        if p95 <= SETUP_TARGET { "met" } else { "MISSED" }
    );
    println!(
        "  Asterisk: INVITE received → first RTP from us    {}",
        summary(&mut theirs)
    );
    if let (Some(a), Some(b)) = (cold, theirs_cold) {
        println!("  cold first call: {} (phone), {} (Asterisk)", ms(a), ms(b));
    }
    ours.phone.shutdown().await;
    Ok(())
}

// ------------------------------------------------------------------ 2. cost

async fn cost(pbx: &Asterisk, codec: Codec, calls: usize, window: Duration, asterisk_pid: &str) -> Res<()> {
    let ours = start_phone(pbx, "2005", codec).await?;
    let mut ids = Vec::new();
    for _ in 0..calls {
        let id = ours.phone.call("600").await.map_err(|e| e.to_string())?;
        ours.wait_audio(id).await?;
        ids.push(id);
    }
    // Let the calls settle (jitter buffers, the first RTCP reports).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (us0, ast0, t0) = (proc_sample("self")?, proc_sample(asterisk_pid)?, Instant::now());
    tokio::time::sleep(window).await;
    let (us1, ast1, elapsed) = (proc_sample("self")?, proc_sample(asterisk_pid)?, t0.elapsed());
    for id in &ids {
        if ours.phone.stats(*id).await.is_none_or(|s| s.codec != Some(codec)) {
            return Err(format!("a call ended or negotiated another codec than {codec}"));
        }
    }
    let per_call = |cpu: Duration| cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0 / calls as f64;
    println!(
        "  {codec} × {calls}: ours {:>5.2} % of a core per call (RSS {:>5.1} MiB)   Asterisk {:>5.2} % per call",
        per_call(us0.cpu_until(&us1)),
        us1.rss_kib as f64 / 1024.0,
        per_call(ast0.cpu_until(&ast1)),
    );
    ours.phone.shutdown().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

async fn run(pbx: &Asterisk) -> Res<()> {
    let calls = env_or("DIALOG_BENCH_SETUP_CALLS", 50usize)?.max(1);
    setup(pbx, calls).await?;
    let window = Duration::from_secs(env_or("DIALOG_BENCH_SECONDS", 20u64)?.max(1));
    let simultaneous: Vec<usize> = match std::env::var("DIALOG_BENCH_CALLS") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        _ => vec![1, 2, 4],
    };
    let pid = std::fs::read_to_string(pbx.dir.join("asterisk.pid"))
        .map_err(|e| format!("Asterisk's pid: {e}"))?
        .trim()
        .to_owned();
    println!(
        "\n== CPU per call against Asterisk's echo ({} s windows; % of one core; recording on)",
        window.as_secs()
    );
    for codec in [Codec::Pcmu, Codec::Pcma] {
        for &n in &simultaneous {
            cost(pbx, codec, n, window, &pid).await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let Some(pbx) = Asterisk::from_env() else {
        eprintln!("bench asterisk: DIALOG_ASTERISK_* not set; run scripts/bench-phone.sh");
        return ExitCode::FAILURE;
    };
    match run(&pbx).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench asterisk: {e}");
            ExitCode::FAILURE
        }
    }
}
