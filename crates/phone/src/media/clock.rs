//! The per-call media clock: every 20 ms it reads the source, encodes and sends (or sends a
//! DTMF event), plays one frame from the playout buffer into the sink, and records the mix.
//!
//! It ticks with `MissedTickBehavior::Burst`: after a short stall it catches up, so the
//! number of frames sent matches wall time (the peer's jitter buffer absorbs the burst and
//! a capture device is drained at its own pace). After a long stall (suspend) it resets
//! instead of bursting.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;

use super::audio::{mix, AudioSink, AudioSource, FRAME_DURATION, FRAME_SAMPLES};
use super::dtmf;
use super::g711::{self, NARROW_FRAME};
use super::recorder::{empty_recording, Recorder};
use super::shared::Shared;
use super::track::{AudioTrack, Binding};
use super::{Codec, Recording};

const MAX_LATE: Duration = Duration::from_millis(200);
const OPUS_BITRATE: i32 = 24_000;

/// A DTMF key being sent.
struct DtmfTx {
    code: u8,
    pt: u8,
    /// Duration units per 20 ms at the event clock rate.
    unit: u32,
    timestamp: u32,
    ticks: u32,
}

/// Sender state: RTP numbering and the encoder of the current codec.
struct Sender {
    ssrc_seq: u16,
    timestamp: u32,
    marker: bool,
    codec: Option<Codec>,
    opus: Option<opus::Encoder>,
    dtmf: Option<DtmfTx>,
    gap: u32,
    narrow: [i16; NARROW_FRAME],
    out: [u8; 1500],
}

pub(crate) struct Clock {
    pub(crate) shared: Arc<Shared>,
    pub(crate) track: Arc<AudioTrack>,
    pub(crate) source: Box<dyn AudioSource>,
    pub(crate) sink: Box<dyn AudioSink>,
    pub(crate) record: bool,
}

impl Clock {
    /// Runs until `stop` fires (or its sender is dropped); returns the recording.
    pub(crate) async fn run(mut self, mut stop: oneshot::Receiver<()>) -> Recording {
        let mut recorder = if self.record {
            match Recorder::new() {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "call recorder unavailable; the call is not recorded");
                    None
                }
            }
        } else {
            None
        };
        let mut recording = false;
        let mut tx = Sender {
            ssrc_seq: rand::random(),
            timestamp: rand::random(),
            marker: true,
            codec: None,
            opus: None,
            dtmf: None,
            gap: 0,
            narrow: [0; NARROW_FRAME],
            out: [0; 1500],
        };
        let mut captured = [0i16; FRAME_SAMPLES];
        let mut played = [0i16; FRAME_SAMPLES];
        let mut mixed = [0i16; FRAME_SAMPLES];
        let silence = [0i16; FRAME_SAMPLES];
        let mut interval = tokio::time::interval(FRAME_DURATION);
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        loop {
            let deadline = tokio::select! {
                _ = &mut stop => break,
                t = interval.tick() => t,
            };
            if deadline.elapsed() > MAX_LATE {
                interval.reset();
            }
            self.source.read(&mut captured);
            let sent_audio = self.send(&mut tx, &captured).await;
            self.shared.playout().pop(&mut played);
            self.sink.write(&played);
            if let Some(rec) = recorder.as_mut() {
                recording = recording || sent_audio || self.shared.first_audio_seen();
                if recording {
                    mix(if sent_audio { &captured } else { &silence }, &played, &mut mixed);
                    if let Err(e) = rec.push(&mixed) {
                        tracing::warn!(error = %e, "call recorder failed; recording stops here");
                        recorder = None;
                    }
                }
            }
        }
        match recorder.map(Recorder::finish) {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "call recorder could not finish");
                empty_recording()
            }
            None => empty_recording(),
        }
    }

    /// Sends this tick's packet(s); true when the captured audio went out.
    async fn send(&mut self, tx: &mut Sender, captured: &[i16]) -> bool {
        let plan = self.shared.send_plan();
        let binding = self.track.binding();
        let (Some((codec, pt)), Some(binding)) = (plan.send, binding) else {
            tx.marker = true;
            return false;
        };
        let step = codec.clock_rate() / 50;
        if plan.local_hold || !plan.remote_receives || binding.paused() {
            // Timestamps keep running so the peer sees real time pass; sequence numbers do
            // not (a jump would confuse SRTP's rollover counter estimate, RFC 3711 §3.3.1).
            tx.timestamp = tx.timestamp.wrapping_add(step);
            tx.marker = true;
            tx.dtmf = None;
            self.shared.clear_dtmf_queue();
            return false;
        }
        if tx.codec != Some(codec) {
            tx.codec = Some(codec);
            tx.marker = true;
        }
        let sent = if self.dtmf_tick(tx, &binding, plan.dtmf).await {
            false
        } else {
            match self.encode(tx, codec, captured) {
                Some(n) => {
                    let marker = std::mem::take(&mut tx.marker);
                    let payload = Bytes::copy_from_slice(&tx.out[..n]);
                    write(&self.shared, tx, &binding, pt, marker, tx.timestamp, payload).await;
                    true
                }
                None => false,
            }
        };
        tx.timestamp = tx.timestamp.wrapping_add(step);
        sent
    }

    /// Sends the DTMF packets of this tick, if a key is being sent; true if so.
    async fn dtmf_tick(&mut self, tx: &mut Sender, binding: &Binding, negotiated: Option<(u8, u32)>) -> bool {
        if tx.dtmf.is_none() {
            if tx.gap > 0 {
                tx.gap -= 1;
                return false;
            }
            let Some((pt, rate)) = negotiated else { return false };
            let Some(code) = self.shared.next_dtmf() else {
                return false;
            };
            tx.dtmf = Some(DtmfTx {
                code,
                pt,
                unit: rate / 50,
                timestamp: tx.timestamp,
                ticks: 0,
            });
        }
        let Some(ev) = tx.dtmf.as_mut() else { return false };
        ev.ticks += 1;
        let (code, pt, timestamp) = (ev.code, ev.pt, ev.timestamp);
        if ev.ticks <= dtmf::TONE_TICKS {
            let duration = u16::try_from(ev.ticks * ev.unit).unwrap_or(u16::MAX);
            let payload = Bytes::copy_from_slice(&dtmf::payload(code, false, duration));
            let first = ev.ticks == 1;
            write(&self.shared, tx, binding, pt, first, timestamp, payload).await;
        } else {
            let duration = u16::try_from(dtmf::TONE_TICKS * ev.unit).unwrap_or(u16::MAX);
            let payload = Bytes::copy_from_slice(&dtmf::payload(code, true, duration));
            tx.dtmf = None;
            tx.gap = dtmf::GAP_TICKS;
            for _ in 0..dtmf::END_REPEATS {
                write(&self.shared, tx, binding, pt, false, timestamp, payload.clone()).await;
            }
            // The next audio packet starts a new talkspurt.
            tx.marker = true;
        }
        true
    }

    /// Encodes one frame into `tx.out`; the payload length, or `None` on an encoder failure.
    fn encode(&mut self, tx: &mut Sender, codec: Codec, captured: &[i16]) -> Option<usize> {
        match codec {
            Codec::Pcmu | Codec::Pcma => {
                g711::downsample_6(captured, &mut tx.narrow);
                let encode = if codec == Codec::Pcmu {
                    g711::ulaw_encode
                } else {
                    g711::alaw_encode
                };
                for (o, &s) in tx.out.iter_mut().zip(tx.narrow.iter()) {
                    *o = encode(s);
                }
                Some(NARROW_FRAME)
            }
            Codec::Opus => {
                if tx.opus.is_none() {
                    match new_opus_encoder() {
                        Ok(e) => tx.opus = Some(e),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot create the Opus encoder");
                            return None;
                        }
                    }
                }
                let encoder = tx.opus.as_mut()?;
                match encoder.encode(captured, &mut tx.out) {
                    Ok(n) => Some(n),
                    Err(e) => {
                        tracing::warn!(error = %e, "Opus encoding failed");
                        None
                    }
                }
            }
        }
    }
}

async fn write(
    shared: &Shared,
    tx: &mut Sender,
    binding: &Binding,
    pt: u8,
    marker: bool,
    timestamp: u32,
    payload: Bytes,
) {
    let len = payload.len() as u64;
    let packet = Packet {
        header: Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: tx.ssrc_seq,
            timestamp,
            ssrc: binding.ctx.ssrc(),
            ..Default::default()
        },
        payload,
    };
    tx.ssrc_seq = tx.ssrc_seq.wrapping_add(1);
    match binding.writer.write_rtp(&packet).await {
        Ok(_) => {
            shared.packets_sent.fetch_add(1, Ordering::Relaxed);
            shared.bytes_sent.fetch_add(len, Ordering::Relaxed);
        }
        Err(e) => tracing::trace!(error = %e, "RTP not sent"),
    }
}

/// Opus for the call: mono, VoIP mode, ~24 kbit/s, in-band FEC against a few % loss.
fn new_opus_encoder() -> Result<opus::Encoder, opus::Error> {
    let mut e = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)?;
    e.set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))?;
    e.set_inband_fec(true)?;
    e.set_packet_loss_perc(5)?;
    // Complexity 5 is about half the CPU of the default 9/10 at little cost for speech.
    e.set_complexity(5)?;
    Ok(e)
}
