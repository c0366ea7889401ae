//! CPU cost of calls, for comparison with baresip (~2 % of a core per PCMU call).
//! Run in release: `cargo test --release -p dialog-phone --test media_cpu -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use dialog_phone::media::{Codec, MediaOptions, MediaSession, NullSink, ToneSource};

/// User + system CPU time of this process, from /proc/self/stat (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name (proc(5)): state ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime stime.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let (utime, stime) = (field(11), field(12));
    Duration::from_millis((utime + stime) * 10)
}

async fn measure(codec: Codec, record: bool, calls: usize, seconds: u64) {
    let opts = MediaOptions {
        codecs: vec![codec],
        loopback_only: true,
        record,
        ..Default::default()
    };
    let mut sessions = Vec::new();
    for _ in 0..calls {
        let a = MediaSession::new(
            opts.clone(),
            Box::new(ToneSource::new(1000.0, 8000)),
            Box::new(NullSink),
        )
        .await
        .expect("a");
        let b = MediaSession::new(opts.clone(), Box::new(ToneSource::new(700.0, 8000)), Box::new(NullSink))
            .await
            .expect("b");
        let offer = a.create_offer().await.expect("offer");
        let answer = b.accept_offer(&offer).await.expect("answer");
        a.set_answer(&answer).await.expect("set_answer");
        sessions.push(a);
        sessions.push(b);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let legs = sessions.len();
    let per_leg = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0 / legs as f64;
    let packets: u64 = sessions.iter().map(|s| s.stats().packets_sent).sum();
    println!(
        "[cpu] {codec} record={record}: {legs} call legs, process CPU {cpu:?} in {wall:?}, \
         {per_leg:.2} % of one core per leg ({packets} packets sent in all)"
    );
    for s in &sessions {
        assert!(s.stats().first_audio_at.is_some());
        s.close().await.expect("close");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release"]
async fn cpu_per_call() {
    measure(Codec::Pcmu, false, 5, 10).await;
    measure(Codec::Pcmu, true, 5, 10).await;
    measure(Codec::Opus, false, 5, 10).await;
    measure(Codec::Opus, true, 5, 10).await;
}
