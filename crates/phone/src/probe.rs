//! The test call: registers, calls a number (or waits for a call), plays a file or a tone,
//! records what comes back, and says whether the call was answered and audio came back —
//! and when not, which stage failed (registration, answer, ICE, DTLS, SRTP, RTP, silence) and
//! what to do about it, in Russian. Used by `dialog-admin phone-test`; the app's «Проверить
//! связь» uses [`check_call`] and [`Stage`] on its running phone.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::media::{rms, AudioSink, AudioSource, MediaFailure, NullSink, ToneSource, WavSink, WavSource};
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

/// The stage of a call that did not work, in the order a call is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// The PBX did not register the extension (or could not be reached).
    Registration,
    /// The call was not answered.
    Answer,
    /// ICE found no path for the audio.
    Ice,
    /// The PBX's DTLS certificate does not match the fingerprint of its SDP.
    DtlsFingerprint {
        /// The hash name of the PBX's `a=fingerprint`.
        hash: String,
    },
    /// The DTLS handshake did not complete.
    DtlsHandshake,
    /// Audio packets arrive but cannot be decrypted.
    Srtp,
    /// Everything is connected, but the PBX sends no audio packets.
    NoRtp,
    /// Audio arrives, but it is silence.
    Silence,
}

impl From<MediaFailure> for Stage {
    fn from(f: MediaFailure) -> Self {
        match f {
            MediaFailure::Ice => Stage::Ice,
            MediaFailure::DtlsFingerprint { hash } => Stage::DtlsFingerprint { hash },
            MediaFailure::DtlsHandshake => Stage::DtlsHandshake,
            MediaFailure::Srtp => Stage::Srtp,
            _ => Stage::NoRtp,
        }
    }
}

impl Stage {
    /// The stage's name as the report shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Registration => "регистрация",
            Stage::Answer => "ответ",
            Stage::Ice => "ICE",
            Stage::DtlsFingerprint { .. } => "DTLS: отпечаток сертификата",
            Stage::DtlsHandshake => "DTLS: рукопожатие",
            Stage::Srtp => "SRTP",
            Stage::NoRtp => "RTP",
            Stage::Silence => "звук",
        }
    }

    /// What went wrong at this stage and what to do, in Russian (the media stages; the
    /// registration and the answer have their own words from the PBX).
    pub fn advice(&self) -> String {
        match self {
            Stage::Registration => "АТС не зарегистрировала телефон: проверьте адрес АТС, номер и пароль".into(),
            Stage::Answer => "звонок не состоялся: проверьте номер и план набора АТС".into(),
            Stage::Ice => "путь для звука не найден — компьютер и АТС не обменялись ни одним UDP-пакетом. \
                Откройте UDP-порты RTP АТС (rtp.conf: rtpstart–rtpend, обычно 10000–20000) между этим \
                компьютером и АТС; если между ними NAT, укажите STUN/TURN-сервер"
                .into(),
            Stage::DtlsFingerprint { hash } if !hash.eq_ignore_ascii_case("sha-256") => format!(
                "АТС подписывает сертификат DTLS отпечатком {hash}, а телефон проверяет SHA-256 — \
                 укажите dtls_fingerprint=SHA-256 у конечной точки в pjsip.conf"
            ),
            Stage::DtlsFingerprint { .. } => "сертификат DTLS, который предъявила АТС, не совпадает с отпечатком \
                (a=fingerprint) в её SDP, поэтому телефон прервал шифрованное соединение. Проверьте, что \
                между компьютером и АТС нет устройства, которое меняет SDP или звук (SBC, прокси), и что \
                у конечной точки АТС один сертификат DTLS"
                .into(),
            Stage::DtlsHandshake => "путь для звука найден (ICE), но шифрованное соединение (DTLS) не \
                установилось — проверьте у конечной точки в pjsip.conf webrtc=yes и сертификат DTLS \
                (dtls_auto_generate_cert=yes или dtls_cert_file) и что на АТС загружен модуль res_srtp"
                .into(),
            Stage::Srtp => "пакеты звука приходят, но не расшифровываются — проверьте, что на АТС загружен \
                res_srtp и что звук не проходит через устройство, которое его перешифровывает"
                .into(),
            Stage::NoRtp => "соединение для звука установлено, но АТС не присылает звук — проверьте план \
                набора (номер должен ответить и что-то воспроизвести) и кодеки конечной точки \
                (allow=ulaw,alaw)"
                .into(),
            Stage::Silence => "пакеты звука приходят, но в них тишина — проверьте микрофон собеседника или \
                то, что воспроизводит план набора"
                .into(),
        }
    }

    /// "STAGE: advice".
    pub fn explain(&self) -> String {
        format!("{}: {}", self.name(), self.advice())
    }
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
    /// The stage that failed; `None` when the call was answered and audio came back.
    pub failed: Option<Stage>,
    /// What happened, in words (Russian): the stage that failed and what to do.
    pub message: String,
}

/// How a call in progress went, from [`check_call`].
#[derive(Debug, Clone, Default)]
pub struct CallCheck {
    /// It was answered.
    pub answered: bool,
    /// Audio from the far end was decoded.
    pub audio_arrived: bool,
    /// INVITE sent (or answer given) until the first audio arrived.
    pub setup: Option<Duration>,
    /// Why no audio arrived, if it did not.
    pub failure: Option<MediaFailure>,
}

/// Follows the call `id` on `phone`: waits up to `wait` for the answer, talks for `talk`,
/// reads what its media got to, and hangs up.
pub async fn check_call(phone: &Phone, id: Uuid, talk: Duration, wait: Duration) -> CallCheck {
    let outcome = phone
        .wait_for(wait, |s| {
            !s.calls.iter().any(|c| c.id == id) || s.calls.iter().any(|c| c.id == id && c.state == CallState::Talking)
        })
        .await
        .unwrap_or_else(|s| s);
    let mut check = CallCheck::default();
    if outcome
        .calls
        .iter()
        .any(|c| c.id == id && c.state == CallState::Talking)
    {
        check.answered = true;
        tokio::time::sleep(talk).await;
        if let Some(stats) = phone.stats(id).await {
            check.audio_arrived = stats.first_audio_at.is_some();
            check.setup = stats
                .first_audio_at
                .map(|t| t.saturating_duration_since(stats.started_at));
        }
        check.failure = phone.media_failure(id).await;
    }
    let _ = phone.hangup(id).await;
    check
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
    let fail = |report: &mut ProbeReport, stage: Stage, message: String| {
        report.message = format!("{}: {message}", stage.name());
        report.failed = Some(stage);
    };
    let (phone, mut records) = match Phone::start(config) {
        Ok(p) => p,
        Err(e) => {
            fail(&mut report, Stage::Registration, e.to_string());
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
        fail(&mut report, Stage::Registration, registered.message);
        phone.shutdown().await;
        return report;
    }
    report.registered = true;
    let id = match &opts.call {
        Some(number) => match phone.call(number).await {
            Ok(id) => id,
            Err(e) => {
                fail(&mut report, Stage::Answer, e.to_string());
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
                let message = format!("входящий звонок не поступил за {} с", opts.wait.as_secs());
                fail(&mut report, Stage::Answer, message);
                phone.shutdown().await;
                return report;
            };
            if let Err(e) = phone.answer(call.id).await {
                fail(&mut report, Stage::Answer, e.to_string());
                phone.shutdown().await;
                return report;
            }
            call.id
        }
    };
    let check = check_call(&phone, id, Duration::from_secs(u64::from(opts.seconds)), opts.wait).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), records.recv())
        .await
        .ok()
        .flatten();
    phone.shutdown().await;
    report.answered = check.answered;
    report.setup = ended.as_ref().and_then(|r| r.setup);
    // At least a fifth of a second of sound.
    report.audio_back = audible.load(Ordering::Relaxed) >= 10;
    if !check.answered {
        let why = match ended {
            Some(r) => format!("звонок не состоялся: {}", r.end),
            None => "звонок не состоялся".to_owned(),
        };
        fail(&mut report, Stage::Answer, why);
    } else if let Some(failure) = check.failure {
        let stage = Stage::from(failure);
        let advice = stage.advice();
        fail(&mut report, stage, advice);
    } else if !report.audio_back {
        fail(&mut report, Stage::Silence, Stage::Silence.advice());
    } else {
        report.message = "звонок принят, звук идёт в обе стороны".to_owned();
    }
    if let Some(stage) = &report.failed {
        tracing::warn!(stage = stage.name(), "the test call failed: {}", report.message);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_media_failure_names_its_stage_and_what_to_do() {
        let fingerprint = Stage::from(MediaFailure::DtlsFingerprint { hash: "sha-256".into() });
        assert_eq!(fingerprint.name(), "DTLS: отпечаток сертификата");
        assert!(
            fingerprint.explain().contains("не совпадает с отпечатком"),
            "{}",
            fingerprint.explain()
        );
        let sha1 = Stage::from(MediaFailure::DtlsFingerprint { hash: "sha-1".into() });
        assert!(sha1.advice().contains("dtls_fingerprint=SHA-256"), "{}", sha1.advice());
        assert!(Stage::from(MediaFailure::Ice).advice().contains("UDP-порты RTP"));
        assert!(Stage::from(MediaFailure::DtlsHandshake).advice().contains("webrtc=yes"));
        assert!(Stage::from(MediaFailure::Srtp).advice().contains("res_srtp"));
        assert!(Stage::from(MediaFailure::NoRtp).advice().contains("план"));
        let names: std::collections::HashSet<&str> = [
            Stage::Registration,
            Stage::Answer,
            Stage::Ice,
            fingerprint,
            Stage::DtlsHandshake,
            Stage::Srtp,
            Stage::NoRtp,
            Stage::Silence,
        ]
        .iter()
        .map(Stage::name)
        .collect();
        assert_eq!(names.len(), 8, "every stage has a name of its own");
    }
}
