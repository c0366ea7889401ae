//! The test call: registers, calls a number (or waits for a call), plays a file or a tone,
//! records what comes back, and says whether the call was answered and audio came back. Used
//! by `dialog-admin phone-test` and by the app's settings screen.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::media::{rms, AudioSink, AudioSource, NullSink, ToneSource, WavSink, WavSource};
use crate::phone::{AudioPair, CallState, LineState, Phone, PhoneConfig};

/// What to do.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Call this number; `None` waits for an incoming call instead.
    pub call: Option<String>,
    /// Play this WAV file (any rate, mono or stereo); a 440 Hz tone when `None`.
    pub play: Option<PathBuf>,
    /// Record what the far end sends to this WAV file.
    pub record: Option<PathBuf>,
    /// How long to talk once answered.
    pub seconds: u32,
    /// How long to wait for the registration, the answer or the incoming call.
    pub wait: Duration,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    /// The PBX accepted the registration.
    pub registered: bool,
    /// The call was answered.
    pub answered: bool,
    /// Audible audio (not silence) came back from the far end.
    pub audio_back: bool,
    /// INVITE sent (or answer given) until the first audio arrived.
    pub setup: Option<Duration>,
    /// What happened, in words (Russian).
    pub message: String,
}

/// The quietest 20 ms frame that counts as sound, not silence or comfort noise.
const AUDIBLE_RMS: f32 = 300.0;

struct MeterSink {
    inner: Box<dyn AudioSink>,
    audible: Arc<AtomicU32>,
}

impl AudioSink for MeterSink {
    fn write(&mut self, frame: &[i16]) {
        if rms(frame) >= AUDIBLE_RMS {
            self.audible.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.write(frame);
    }
}

/// Runs the test call with `config` (its audio is replaced by the file or tone and the
/// recorder).
pub async fn run(mut config: PhoneConfig, opts: &ProbeOptions) -> ProbeReport {
    let audible = Arc::new(AtomicU32::new(0));
    let (play, record, meter) = (opts.play.clone(), opts.record.clone(), audible.clone());
    config.audio = Arc::new(move || -> Result<AudioPair, String> {
        let source: Box<dyn AudioSource> = match &play {
            Some(p) => Box::new(WavSource::open(p, true).map_err(|e| e.to_string())?),
            None => Box::new(ToneSource::new(440.0, 8000)),
        };
        let inner: Box<dyn AudioSink> = match &record {
            Some(p) => Box::new(WavSink::create(p).map_err(|e| e.to_string())?),
            None => Box::new(NullSink),
        };
        Ok((
            source,
            Box::new(MeterSink {
                inner,
                audible: meter.clone(),
            }),
        ))
    });
    let mut report = ProbeReport::default();
    let (phone, mut records) = match Phone::start(config) {
        Ok(p) => p,
        Err(e) => {
            report.message = e.to_string();
            return report;
        }
    };
    let registered = phone
        .wait_for(opts.wait, |s| {
            matches!(s.line, LineState::Registered | LineState::Failed)
        })
        .await
        .unwrap_or_else(|s| s);
    if registered.line != LineState::Registered {
        report.message = registered.message;
        phone.shutdown().await;
        return report;
    }
    report.registered = true;
    let id = match &opts.call {
        Some(number) => match phone.call(number).await {
            Ok(id) => id,
            Err(e) => {
                report.message = e.to_string();
                phone.shutdown().await;
                return report;
            }
        },
        None => {
            let ringing = phone
                .wait_for(opts.wait, |s| s.calls.iter().any(|c| c.state == CallState::Ringing))
                .await;
            let Some(call) = ringing
                .ok()
                .and_then(|s| s.calls.into_iter().find(|c| c.state == CallState::Ringing))
            else {
                report.message = format!("входящий звонок не поступил за {} с", opts.wait.as_secs());
                phone.shutdown().await;
                return report;
            };
            if let Err(e) = phone.answer(call.id).await {
                report.message = e.to_string();
                phone.shutdown().await;
                return report;
            }
            call.id
        }
    };
    let outcome = phone
        .wait_for(opts.wait, |s| {
            s.calls.iter().all(|c| c.id != id) || s.calls.iter().any(|c| c.id == id && c.state == CallState::Talking)
        })
        .await
        .unwrap_or_else(|s| s);
    if outcome
        .calls
        .iter()
        .any(|c| c.id == id && c.state == CallState::Talking)
    {
        report.answered = true;
        tokio::time::sleep(Duration::from_secs(u64::from(opts.seconds))).await;
        let _ = phone.hangup(id).await;
    } else {
        let _ = phone.hangup(id).await;
    }
    let ended = tokio::time::timeout(Duration::from_secs(5), records.recv())
        .await
        .ok()
        .flatten();
    phone.shutdown().await;
    report.setup = ended.as_ref().and_then(|r| r.setup);
    // At least a fifth of a second of sound.
    report.audio_back = audible.load(Ordering::Relaxed) >= 10;
    report.message = match (report.answered, report.audio_back) {
        (false, _) => match ended {
            Some(r) => format!("звонок не состоялся: {}", r.end),
            None => "звонок не состоялся".to_owned(),
        },
        (true, true) => "звонок принят, звук идёт в обе стороны".to_owned(),
        (true, false) => {
            "звонок принят, но звук не пришёл: проверьте ICE/UDP-порты RTP между компьютером и АТС".to_owned()
        }
    };
    report
}
