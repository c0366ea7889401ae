//! Calls through the telephony rig: setup time and CPU / memory per call, side by side with
//! baresip. Run it with `scripts/bench-phone.sh` (it builds this in release, starts the rig
//! in `--bench` mode in a network namespace, runs this, stops the rig).
//!
//! 1. Setup: 50 sequential calls to 1001 (auto answer), INVITE sent → first audio decoded
//!    (`CallRecord::setup`), p50 / p95 / max, with the default codecs (Opus) and PCMU only.
//!    Target ≤ 100 ms on loopback.
//! 2. Cost: N simultaneous calls to 1001 held for a while; the CPU time of this process
//!    (utime + stime) over the steady-state window / N / the window → % of one core per call,
//!    and VmRSS growth per call; the same for the baresip 1001 process over the same window.
//!    Target: ours within 1.0× baresip's CPU per call.
//!
//! Our audio: a [`ToneSource`] and a [`NullSink`], recording on (as in production).
//!
//! Environment: the rig's `DIALOG_RIG_*` variables (required), and
//! `DIALOG_BENCH_SETUP_CALLS` (default 50), `DIALOG_BENCH_CALLS` (simultaneous calls, a
//! comma-separated list, default `1,2,4`), `DIALOG_BENCH_SECONDS` (measurement window, default
//! 20), `DIALOG_BENCH_CODECS` (`opus,pcmu` by default; one of them to profile it alone),
//! `DIALOG_BENCH_RECORD` (1 by default; 0 turns our recorder off, to see what it costs).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::rig::CALL_INCOMING;
use common::{Baresip, Rig};
use dialog_phone::media::{Codec, MediaStats, NullSink, ToneSource, TransportState};
use dialog_phone::phone::{AudioPair, CallRecord, CallState, LineState, Phone, PhoneConfig};
use tokio::sync::mpsc::UnboundedReceiver;
use uuid::Uuid;

/// Setup target on loopback.
const SETUP_TARGET: Duration = Duration::from_millis(100);
/// CPU target: ours / baresip per call.
const CPU_RATIO_TARGET: f64 = 1.0;
/// Longest wait for a registration, an answer, the first audio, a call record.
const WAIT: Duration = Duration::from_secs(15);
/// USER_HZ: the unit of utime / stime in /proc/<pid>/stat.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

type Res<T> = Result<T, String>;

// ------------------------------------------------------------------ configuration

struct Settings {
    variants: Vec<Variant>,
    /// Record calls (as in production); off only to measure what the recorder costs.
    record: bool,
    setup_calls: usize,
    simultaneous: Vec<usize>,
    window: Duration,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| format!("{name}={v}: not a number")),
        _ => Ok(default),
    }
}

impl Settings {
    fn from_env() -> Res<Settings> {
        let simultaneous = match std::env::var("DIALOG_BENCH_CALLS") {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|n| n.trim().parse::<usize>().ok().filter(|&n| n > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("DIALOG_BENCH_CALLS={v}: expected e.g. 1,2,4"))?,
            _ => vec![1, 2, 4],
        };
        let variants = match std::env::var("DIALOG_BENCH_CODECS") {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|c| match c.trim().to_ascii_lowercase().as_str() {
                    "opus" => Some(Variant::Default),
                    "pcmu" => Some(Variant::Pcmu),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("DIALOG_BENCH_CODECS={v}: expected opus, pcmu or opus,pcmu"))?,
            _ => vec![Variant::Default, Variant::Pcmu],
        };
        let record = match std::env::var("DIALOG_BENCH_RECORD").as_deref().map(str::trim) {
            Ok("0") => false,
            Ok("1" | "") | Err(_) => true,
            Ok(v) => return Err(format!("DIALOG_BENCH_RECORD={v}: expected 1 (default) or 0")),
        };
        Ok(Settings {
            variants,
            record,
            setup_calls: env_or("DIALOG_BENCH_SETUP_CALLS", 50usize)?.max(1),
            simultaneous,
            window: Duration::from_secs(env_or("DIALOG_BENCH_SECONDS", 20u64)?.max(1)),
        })
    }
}

/// The two codec set-ups measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// `MediaOptions::default()`: Opus, PCMU, PCMA (Opus is chosen).
    Default,
    /// PCMU only.
    Pcmu,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Default => "Opus",
            Variant::Pcmu => "PCMU",
        }
    }

    fn expected(self) -> Codec {
        match self {
            Variant::Default => Codec::Opus,
            Variant::Pcmu => Codec::Pcmu,
        }
    }
}

// ------------------------------------------------------------------ /proc

/// CPU time and resident memory of a process (or of several, merged).
#[derive(Clone, Default)]
struct ProcSample {
    /// utime + stime (/proc/<pid>/stat, in clock ticks of 10 ms): includes exited threads.
    ticks_cpu: Duration,
    /// Time on CPU of each live thread (/proc/<pid>/task/<tid>/schedstat, in ns).
    threads: HashMap<u32, u64>,
    rss_kib: u64,
}

impl ProcSample {
    fn merge(mut self, other: ProcSample) -> ProcSample {
        self.ticks_cpu += other.ticks_cpu;
        self.threads.extend(other.threads);
        self.rss_kib += other.rss_kib;
        self
    }

    /// CPU time used from `self` to `later`: the per-thread nanosecond counters, unless
    /// threads that exited meanwhile make the (coarser) process total larger.
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

/// `pid` is a number or "self".
fn proc_sample(pid: &str) -> Res<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime stime ... (proc(5)); comm may hold spaces and parentheses.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("/proc/{pid}/stat: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Res<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat: no field {i}"))
    };
    let ticks = tick(11)? + tick(12)?;
    let mut threads = HashMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| format!("/proc/{pid}/task: {e}"))?;
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        // A thread may exit between the listing and the read.
        if let Ok(line) = std::fs::read_to_string(task.path().join("schedstat")) {
            if let Some(ns) = line.split_whitespace().next().and_then(|v| v.parse().ok()) {
                threads.insert(tid, ns);
            }
        }
    }
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("/proc/{pid}/status: no VmRSS"))?;
    Ok(ProcSample {
        ticks_cpu: Duration::from_millis(ticks * 1000 / CLOCK_TICKS_PER_SECOND),
        threads,
        rss_kib,
    })
}

/// The pid a rig component's pid file names, checked against /proc/<pid>/comm.
fn rig_pid(rig: &Rig, name: &str, comm: &str) -> Res<String> {
    let file = rig.dir.join(format!("{name}.pid"));
    let pid = std::fs::read_to_string(&file)
        .map_err(|e| {
            format!(
                "{}: {e} (is the rig running? scripts/sip-rig.sh status DIR)",
                file.display()
            )
        })?
        .trim()
        .to_owned();
    let actual = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if actual.trim() != comm {
        return Err(format!(
            "{name} (pid {pid} from {}) is not running (found {:?}): start the rig with scripts/sip-rig.sh start DIR --bench",
            file.display(),
            actual.trim()
        ));
    }
    Ok(pid)
}

// ------------------------------------------------------------------ figures

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// "p50 … p95 … max …" of a series.
fn summary(series: &mut [Duration]) -> String {
    series.sort();
    format!(
        "p50 {:>7}  p95 {:>7}  max {:>7}",
        ms(percentile(series, 0.5)),
        ms(percentile(series, 0.95)),
        ms(series.last().copied().unwrap_or_default())
    )
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn since(a: SystemTime, b: SystemTime) -> Duration {
    b.duration_since(a).unwrap_or_default()
}

// ------------------------------------------------------------------ our phone

struct Ours {
    phone: Phone,
    records: UnboundedReceiver<CallRecord>,
    ext: String,
}

async fn start_phone(rig: &Rig, ext: &str, variant: Variant, record: bool) -> Res<Ours> {
    let audio =
        Arc::new(|| -> Result<AudioPair, String> { Ok((Box::new(ToneSource::new(700.0, 8000)), Box::new(NullSink))) });
    let mut c = PhoneConfig::new(&rig.ws, ext, &Rig::password(ext), audio);
    c.domain = Some(rig.domain.clone());
    c.media.loopback_only = true;
    c.media.record = record;
    if variant == Variant::Pcmu {
        c.media.codecs = vec![Codec::Pcmu];
    }
    let (phone, records) = Phone::start(c).map_err(|e| format!("the phone did not start: {e}"))?;
    let ours = Ours {
        phone,
        records,
        ext: ext.to_owned(),
    };
    if let Err(s) = ours.phone.wait_for(WAIT, |s| s.line == LineState::Registered).await {
        ours.phone.shutdown().await;
        return Err(format!(
            "{ext} did not register on {} within {WAIT:?} (line {:?}: {}): is the rig running? \
             (scripts/sip-rig.sh status DIR)",
            rig.ws, s.line, s.message
        ));
    }
    Ok(ours)
}

impl Ours {
    /// Hangs up whatever is still up and waits (a little) for the records.
    async fn hang_up_all(&mut self) {
        let ids: Vec<Uuid> = self.phone.status().borrow().calls.iter().map(|c| c.id).collect();
        for id in &ids {
            let _ = self.phone.hangup(*id).await;
        }
        let _ = self.phone.wait_for(WAIT, |s| s.calls.is_empty()).await;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), self.records.recv()).await {}
    }

    async fn record(&mut self) -> Res<CallRecord> {
        match tokio::time::timeout(WAIT, self.records.recv()).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err("the phone stopped".into()),
            Err(_) => Err(format!("no call record within {WAIT:?}")),
        }
    }

    /// Calls 1001; returns the call's id and when `call` was invoked.
    async fn dial(&self, rig: &Rig) -> Res<(Uuid, Instant)> {
        let t0 = Instant::now();
        let id = self
            .phone
            .call(&rig.auto.user)
            .await
            .map_err(|e| format!("{} could not call {}: {e}", self.ext, rig.auto.user))?;
        Ok((id, t0))
    }

    /// Waits until the call has decoded audio; its stats then. If the call ended instead, the
    /// error says how (from its record).
    async fn first_audio(&mut self, id: Uuid, deadline: Instant) -> Res<MediaStats> {
        loop {
            match self.phone.stats(id).await {
                Some(s) if s.first_audio_at.is_some() => return Ok(s),
                Some(s) => {
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "no audio from {id} within {WAIT:?} (transport {:?}, ICE {:?}, {} packets received)",
                            s.transport, s.ice, s.packets_received
                        ));
                    }
                }
                None => {
                    let state = self.phone.status().borrow().clone();
                    if !state.calls.iter().any(|c| c.id == id) {
                        let why = match tokio::time::timeout(Duration::from_secs(2), self.records.recv()).await {
                            Ok(Some(r)) => r.end,
                            _ => "no record".into(),
                        };
                        return Err(format!("the call ended before any audio: {why}"));
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("the call {id} has no media"));
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ------------------------------------------------------------------ 1. setup time

#[derive(Default)]
struct Setup {
    /// INVITE sent → first audio decoded (CallRecord::setup).
    invite_to_audio: Vec<Duration>,
    /// INVITE sent → 200 OK processed (answered_at − started_at).
    invite_to_answer: Vec<Duration>,
    /// INVITE sent → DTLS connected.
    invite_to_dtls: Vec<Duration>,
    /// `Phone::call` invoked → first audio (adds the media session and the offer).
    click_to_audio: Vec<Duration>,
    /// The first (cold) call of the series, not counted.
    cold: Option<Duration>,
}

async fn one_call(ours: &mut Ours, rig: &Rig, variant: Variant) -> Res<(Duration, Duration, Duration, Duration)> {
    let (id, t0) = ours.dial(rig).await?;
    let stats = match ours.first_audio(id, t0 + WAIT).await {
        Ok(s) => s,
        Err(e) => {
            ours.hang_up_all().await;
            return Err(e);
        }
    };
    ours.phone
        .hangup(id)
        .await
        .map_err(|e| format!("hang-up failed: {e}"))?;
    let rec = ours.record().await?;
    if stats.codec != Some(variant.expected()) {
        return Err(format!("negotiated {:?}, expected {}", stats.codec, variant.expected()));
    }
    let setup = rec.setup.ok_or("the record has no setup time")?;
    let answer = rec
        .answered_at
        .map(|a| since(rec.started_at, a))
        .ok_or("the record says the call was not answered")?;
    let first = stats.first_audio_at.ok_or("no first audio")?;
    let invite_at = first.checked_sub(setup).ok_or("setup time out of range")?;
    let dtls = stats
        .connected_at
        .map(|c| c.saturating_duration_since(invite_at))
        .unwrap_or_default();
    Ok((setup, answer, dtls, first.saturating_duration_since(t0)))
}

async fn setup_series(ours: &mut Ours, rig: &Rig, variant: Variant, calls: usize) -> Res<Setup> {
    let mut out = Setup::default();
    for i in 0..=calls {
        let (setup, answer, dtls, click) = one_call(ours, rig, variant)
            .await
            .map_err(|e| format!("{} setup call {i}: {e}", variant.label()))?;
        if i == 0 {
            out.cold = Some(setup);
        } else {
            out.invite_to_audio.push(setup);
            out.invite_to_answer.push(answer);
            out.invite_to_dtls.push(dtls);
            out.click_to_audio.push(click);
        }
        // Let baresip finish the BYE before the next INVITE.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(out)
}

fn print_setup(variant: Variant, s: &mut Setup) {
    let n = s.invite_to_audio.len();
    println!(
        "\n== call setup, {} ({n} sequential calls to 1001 after one cold call)",
        variant.label()
    );
    let audio = summary(&mut s.invite_to_audio);
    let max = s.invite_to_audio.last().copied().unwrap_or_default();
    let p95 = percentile(&s.invite_to_audio, 0.95);
    println!(
        "  INVITE sent → first audio   {audio}   target ≤ {}: {}",
        ms(SETUP_TARGET),
        if max <= SETUP_TARGET {
            "met (max)"
        } else if p95 <= SETUP_TARGET {
            "met at p95, not at max"
        } else {
            "MISSED"
        }
    );
    println!("  INVITE sent → 200 OK        {}", summary(&mut s.invite_to_answer));
    println!("  INVITE sent → DTLS up       {}", summary(&mut s.invite_to_dtls));
    println!(
        "  call() → first audio        {}   (adds media session + ICE gathering + offer)",
        summary(&mut s.click_to_audio)
    );
    if let Some(c) = s.cold {
        println!("  cold first call: INVITE sent → first audio {}", ms(c));
    }
}

// ------------------------------------------------------------------ 2. CPU and memory

/// The rig's processes measured, and the manual-answer phone's control.
struct FarEnd {
    /// baresip 1001 (auto answer).
    auto_pid: String,
    /// baresip 1002 (answered through its control port).
    manual_pid: String,
    manual: Baresip,
    rtpengine_pid: String,
}

impl FarEnd {
    /// Both baresip processes: CPU and RSS summed.
    fn baresip(&self) -> Res<ProcSample> {
        Ok(proc_sample(&self.auto_pid)?.merge(proc_sample(&self.manual_pid)?))
    }
}

struct CostRow {
    variant: Variant,
    calls: usize,
    window: Duration,
    ours_cpu: Duration,
    ours_rss_before: u64,
    ours_rss_during: u64,
    baresip_cpu: Duration,
    baresip_rss_before: u64,
    baresip_rss_during: u64,
    /// VmRSS of baresip 1001 alone, during.
    baresip_1001_rss: u64,
    rtpengine_cpu: Duration,
    /// Packets received per second by each of our calls during the window.
    rx_rates: Vec<f64>,
}

impl CostRow {
    fn per_call(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() / self.window.as_secs_f64() * 100.0 / self.calls as f64
    }

    /// With more than one call at 1001, its calls share one aubridge echo device: only the
    /// newest is echoed (see `print_costs`).
    fn shared_echo(&self) -> bool {
        self.calls > 2
    }
}

/// Per phone (codec set-up): memory before any call, CPU with no call up.
struct Baseline {
    variant: Variant,
    ours_rss_at_start: u64,
    baresip_rss_at_start: u64,
    /// % of one core.
    ours_idle: f64,
    baresip_idle: f64,
}

/// % of one core used by us and by both baresips with no call up.
async fn idle_cost(far: &FarEnd, window: Duration) -> Res<(f64, f64)> {
    let (o0, b0, w0) = (proc_sample("self")?, far.baresip()?, Instant::now());
    tokio::time::sleep(window).await;
    let (o1, b1, w) = (proc_sample("self")?, far.baresip()?, w0.elapsed());
    let pct = |a: &ProcSample, b: &ProcSample| a.cpu_until(b).as_secs_f64() / w.as_secs_f64() * 100.0;
    Ok((pct(&o0, &o1), pct(&b0, &b1)))
}

/// Places call `k` of a cost run: the second call goes to 1002 (answered through ctrl_tcp),
/// the others to 1001, so that up to two calls each have a baresip echo path of their own.
async fn place(ours: &Ours, rig: &Rig, far: &mut FarEnd, k: usize) -> Res<Uuid> {
    if k != 1 {
        return ours.dial(rig).await.map(|(id, _)| id);
    }
    far.manual
        .drain_events(Duration::from_millis(50))
        .await
        .map_err(|e| format!("baresip 1002 control: {e}"))?;
    let id = ours
        .phone
        .call(&rig.manual.user)
        .await
        .map_err(|e| format!("{} could not call {}: {e}", ours.ext, rig.manual.user))?;
    far.manual
        .wait_for_event(CALL_INCOMING, WAIT)
        .await
        .map_err(|e| format!("baresip 1002 did not ring: {e}"))?;
    far.manual
        .accept()
        .await
        .map_err(|e| format!("baresip 1002 did not answer: {e}"))?;
    Ok(id)
}

/// Waits until every call is connected (DTLS up) and at least `with_audio` of them have
/// decoded audio.
async fn all_connected(ours: &Ours, ids: &[Uuid], with_audio: usize) -> Res<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut connected = 0;
        let mut audio = 0;
        let mut states = Vec::new();
        for id in ids {
            match ours.phone.stats(*id).await {
                Some(s) => {
                    connected += usize::from(s.transport == TransportState::Connected);
                    audio += usize::from(s.first_audio_at.is_some());
                    states.push(format!("{:?}/{} pkts", s.transport, s.packets_received));
                }
                None => states.push("ended".into()),
            }
        }
        if connected == ids.len() && audio >= with_audio {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "after {WAIT:?}: {connected} of {} calls connected, {audio} with audio (want {with_audio}): {}",
                ids.len(),
                states.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn cost_run(
    ours: &mut Ours,
    rig: &Rig,
    far: &mut FarEnd,
    variant: Variant,
    n: usize,
    window: Duration,
) -> Res<CostRow> {
    // Quiet start: earlier calls gone on both sides.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ours_before, baresip_before) = (proc_sample("self")?, far.baresip()?);
    let mut ids = Vec::new();
    let mut placed = Ok(());
    for k in 0..n {
        match place(ours, rig, far, k).await {
            Ok(id) => ids.push(id),
            Err(e) => {
                placed = Err(format!("call {} of {n}: {e}", k + 1));
                break;
            }
        }
    }
    if let Err(e) = placed.and(all_connected(ours, &ids, n.min(2)).await) {
        ours.hang_up_all().await;
        return Err(format!(
            "{} × {n} simultaneous calls: {e} (baresip takes at most call_max_calls calls, \
             tests/rig/baresip/config)",
            variant.label()
        ));
    }
    // Steady state: jitter buffers filled, DTLS and RTCP settled.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut rx0 = Vec::new();
    for id in &ids {
        rx0.push(ours.phone.stats(*id).await.map_or(0, |s| s.packets_received));
    }
    let (o0, b0, r0, w0) = (
        proc_sample("self")?,
        far.baresip()?,
        proc_sample(&far.rtpengine_pid)?,
        Instant::now(),
    );
    tokio::time::sleep(window).await;
    let (o1, b1, r1, w) = (
        proc_sample("self")?,
        far.baresip()?,
        proc_sample(&far.rtpengine_pid)?,
        w0.elapsed(),
    );
    let auto_rss = proc_sample(&far.auto_pid)?.rss_kib;
    let mut rx_rates = Vec::new();
    for (id, before) in ids.iter().zip(&rx0) {
        if let Some(s) = ours.phone.stats(*id).await {
            rx_rates.push(s.packets_received.saturating_sub(*before) as f64 / w.as_secs_f64());
        }
    }
    let up = ours
        .phone
        .status()
        .borrow()
        .calls
        .iter()
        .filter(|c| c.state == CallState::Talking)
        .count();
    for id in &ids {
        let _ = ours.phone.hangup(*id).await;
    }
    for _ in 0..ids.len() {
        if let Err(e) = ours.record().await {
            ours.hang_up_all().await;
            return Err(format!("after hanging up {} calls: {e}", ids.len()));
        }
    }
    if rx_rates.len() != n || up != n {
        return Err(format!(
            "{} × {n}: {} calls still up at the end of the window, {up} talking",
            variant.label(),
            rx_rates.len()
        ));
    }
    Ok(CostRow {
        variant,
        calls: n,
        window: w,
        ours_cpu: o0.cpu_until(&o1),
        ours_rss_before: ours_before.rss_kib,
        ours_rss_during: o1.rss_kib,
        baresip_cpu: b0.cpu_until(&b1),
        baresip_rss_before: baresip_before.rss_kib,
        baresip_rss_during: b1.rss_kib,
        baresip_1001_rss: auto_rss,
        rtpengine_cpu: r0.cpu_until(&r1),
        rx_rates,
    })
}

fn print_costs(rows: &[CostRow], idle: &[Baseline], record: bool) {
    println!("\n== CPU and memory per active call: our phone vs baresip on the same calls");
    println!(
        "   ours: this process (WebRTC: ICE + DTLS-SRTP; tone source, null sink, recorder {}).\n   \
         baresip 1.0 (rig --bench): plain RTP/AVP (rtpengine bridges DTLS-SRTP ⇄ RTP, its CPU shown apart),\n   \
         echoing what it hears through aubridge (a 20 ms-timed audio path), no recording.\n   \
         Call 1 goes to 1001, call 2 to 1002, calls 3+ to 1001; baresip = both processes summed.\n   \
         % = CPU time (utime+stime) over the window / window / N (100 % = one core);\n   \
         RSS +/call = (VmRSS during − before) / N.",
        if record {
            "on"
        } else {
            "OFF (DIALOG_BENCH_RECORD=0; production records)"
        }
    );
    for b in idle {
        println!(
            "   {} phone registered, before its first call: ours VmRSS {}, baresip 1001 {}; idle after its setup \
             series: ours {:.2} %, baresip (both) {:.2} % of one core",
            b.variant.label(),
            mib(b.ours_rss_at_start as f64),
            mib(b.baresip_rss_at_start as f64),
            b.ours_idle,
            b.baresip_idle
        );
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n  {:<5} {:>3} {:>6} | {:>11} {:>10} {:>6} | {:>9} {:>9} | {:>12} {:>9} | {:>10} | rx pkt/s per call (ours)",
        "codec",
        "N",
        "window",
        "ours %/call",
        "baresip %",
        "ratio",
        "ours RSS",
        "+/call",
        "baresip1001",
        "+/call",
        "rtpengine%",
    );
    for r in rows {
        let (o, b) = (r.per_call(r.ours_cpu), r.per_call(r.baresip_cpu));
        let ratio = if b > 0.0 { format!("{:.2}", o / b) } else { "-".into() };
        let per = |before: u64, during: u64| (during as f64 - before as f64) / r.calls as f64;
        let rates: Vec<String> = r.rx_rates.iter().map(|x| format!("{x:.0}")).collect();
        let _ = writeln!(
            t,
            "  {:<5} {:>3} {:>5.0}s | {:>10.2}% {:>9.2}% {:>6} | {:>9} {:>9} | {:>12} {:>9} | {:>9.2}% | {}{}",
            r.variant.label(),
            r.calls,
            r.window.as_secs_f64(),
            o,
            b,
            ratio,
            mib(r.ours_rss_during as f64),
            mib(per(r.ours_rss_before, r.ours_rss_during)),
            mib(r.baresip_1001_rss as f64),
            mib(per(r.baresip_rss_before, r.baresip_rss_during)),
            r.per_call(r.rtpengine_cpu),
            rates.join(" "),
            if r.shared_echo() { "  *" } else { "" }
        );
    }
    print!("{t}");
    if rows.iter().any(CostRow::shared_echo) {
        println!(
            "  * N > 2: baresip 1001 holds several calls, and aubridge's echo device (one name, \"echo\", in\n    \
             tests/rig/baresip/audio-bench.conf) is shared: it feeds the newest call only, so baresip encodes\n    \
             and sends for one of them and we decode nothing on the others (rx ≈ 0 above). Both sides do less\n    \
             than N full calls: the ratio there is indicative only."
        );
    }
    println!("\n  target: ours ≤ {CPU_RATIO_TARGET}× baresip's CPU per call");
    for r in rows {
        let (o, b) = (r.per_call(r.ours_cpu), r.per_call(r.baresip_cpu));
        let verdict = if b <= 0.0 {
            "baresip used no measurable CPU".to_owned()
        } else if o / b <= CPU_RATIO_TARGET {
            format!("met ({:.2}×)", o / b)
        } else {
            format!("MISSED ({:.2}×)", o / b)
        };
        let star = if r.shared_echo() { " (indicative, see *)" } else { "" };
        println!("    {} × {}: {verdict}{star}", r.variant.label(), r.calls);
    }
}

// ------------------------------------------------------------------ main

async fn run(rig: &Rig, settings: &Settings) -> Res<()> {
    if std::env::var("DIALOG_RIG_VARIANT").as_deref() != Ok("bench") {
        return Err(
            "the rig is not in --bench mode (DIALOG_RIG_VARIANT != bench): baresip's CPU would not be \
             comparable. Start it with scripts/sip-rig.sh start DIR --bench (scripts/bench-phone.sh does)"
                .into(),
        );
    }
    let auto_pid = rig_pid(rig, "baresip-1001", "baresip")?;
    let manual_pid = rig_pid(rig, "baresip-1002", "baresip")?;
    let rtpengine_pid = rig_pid(rig, "rtpengine", "rtpengine")?;
    // Hold the far-end phones (no test of another process uses them meanwhile).
    let mut auto = rig
        .baresip(common::Phone::Auto)
        .await
        .map_err(|e| format!("baresip 1001 control ({}): {e}", rig.auto.ctrl))?;
    let manual = rig
        .baresip(common::Phone::Manual)
        .await
        .map_err(|e| format!("baresip 1002 control ({}): {e}", rig.manual.ctrl))?;
    let mut far = FarEnd {
        auto_pid,
        manual_pid,
        manual,
        rtpengine_pid,
    };
    println!(
        "rig: {} (bench variant); baresip 1001 pid {}, 1002 pid {}, rtpengine pid {}; {} CPUs",
        rig.dir.display(),
        far.auto_pid,
        far.manual_pid,
        far.rtpengine_pid,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut rows = Vec::new();
    let mut idle = Vec::new();
    for &variant in &settings.variants {
        let ext = match variant {
            Variant::Default => "2001",
            Variant::Pcmu => "2002",
        };
        let mut ours = start_phone(rig, ext, variant, settings.record).await?;
        let (ours_rss_at_start, baresip_rss_at_start) =
            (proc_sample("self")?.rss_kib, proc_sample(&far.auto_pid)?.rss_kib);
        let result = async {
            let mut setup = setup_series(&mut ours, rig, variant, settings.setup_calls).await?;
            print_setup(variant, &mut setup);
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (ours_idle, baresip_idle) = idle_cost(&far, Duration::from_secs(5)).await?;
            idle.push(Baseline {
                variant,
                ours_rss_at_start,
                baresip_rss_at_start,
                ours_idle,
                baresip_idle,
            });
            for &n in &settings.simultaneous {
                println!(
                    "   … {} × {n} simultaneous calls, {:?} window",
                    variant.label(),
                    settings.window
                );
                rows.push(cost_run(&mut ours, rig, &mut far, variant, n, settings.window).await?);
            }
            Res::Ok(())
        }
        .await;
        ours.hang_up_all().await;
        ours.phone.shutdown().await;
        result?;
    }
    print_costs(&rows, &idle, settings.record);

    // Nothing left up at the far ends.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (name, phone) in [("1001", &mut auto), ("1002", &mut far.manual)] {
        let calls = phone
            .command("listcalls", None)
            .await
            .map_err(|e| format!("baresip {name} listcalls: {e}"))?;
        if !calls.data.contains("Active calls (0)") {
            return Err(format!("baresip {name} still has calls up:\n{}", calls.data.trim()));
        }
    }
    println!("\nno calls left up (baresip 1001 and 1002: Active calls (0)); our phones shut down");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    // `cargo bench` passes --bench; nothing else is expected.
    if std::env::var_os("DIALOG_RIG_DIR").is_none_or(|d| !Path::new(&d).is_dir()) {
        eprintln!(
            "calls bench: the telephony rig is not running (DIALOG_RIG_DIR is not set or not a directory).\n\
             Run scripts/bench-phone.sh, or inside scripts/in-netns.sh: \
             eval \"$(scripts/sip-rig.sh start DIR --bench)\" first."
        );
        return ExitCode::FAILURE;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("calls bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(rig) = Rig::from_env() else {
        eprintln!("calls bench: the rig's DIALOG_RIG_* variables are missing");
        return ExitCode::FAILURE;
    };
    match run(&rig, &settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calls bench FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
