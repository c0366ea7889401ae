//! The receiving half: RTP from the peer → decoded 48 kHz frames in the playout buffer, and
//! RFC 4733 events → DTMF keys.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use webrtc::track::track_remote::TrackRemote;

use super::audio::FRAME_SAMPLES;
use super::dtmf;
use super::g711::{self, Upsampler};
use super::sdp::PayloadKind;
use super::shared::Shared;
use super::{Codec, MediaEvent};

/// Playout starts once 30 ms are buffered, which absorbs the phase between the peer's packet
/// clock and ours; more than 200 ms buffered (peer clock faster, or a burst) is cut back.
const PRIME: usize = FRAME_SAMPLES * 3 / 2;
const MAX_BUFFERED: usize = FRAME_SAMPLES * 10;

/// A simple ordered playout buffer (packets arrive in order on a LAN; late ones are dropped
/// before they get here).
#[derive(Debug, Default)]
pub(crate) struct Playout {
    buf: VecDeque<i16>,
    primed: bool,
}

impl Playout {
    pub(crate) fn push(&mut self, samples: &[i16]) {
        self.buf.extend(samples);
        if self.buf.len() > MAX_BUFFERED {
            let excess = self.buf.len() - PRIME;
            self.buf.drain(..excess);
        }
    }

    /// Fills `out` with the next frame, or silence while (re)buffering.
    pub(crate) fn pop(&mut self, out: &mut [i16]) {
        if !self.primed {
            if self.buf.len() < PRIME {
                out.fill(0);
                return;
            }
            self.primed = true;
        }
        let n = out.len().min(self.buf.len());
        for (o, s) in out.iter_mut().zip(self.buf.drain(..n)) {
            *o = s;
        }
        if n < out.len() {
            out[n..].fill(0);
            self.primed = false;
        }
    }
}

/// Decoder state of one incoming RTP stream.
struct Receiver {
    shared: Arc<Shared>,
    opus: Option<opus::Decoder>,
    upsampler: Upsampler,
    ssrc: u32,
    last_seq: Option<u16>,
    last_event_ts: Option<u32>,
    pcm: Vec<i16>,
}

/// Reads one remote track until it ends (peer connection closed).
pub(crate) async fn read_track(shared: Arc<Shared>, track: Arc<TrackRemote>) {
    let mut rx = Receiver {
        shared,
        opus: None,
        upsampler: Upsampler::default(),
        ssrc: 0,
        last_seq: None,
        last_event_ts: None,
        pcm: vec![0; 5760],
    };
    while let Ok((packet, _)) = track.read_rtp().await {
        rx.handle(&packet);
    }
    tracing::debug!(ssrc = rx.ssrc, "remote track ended");
}

impl Receiver {
    fn handle(&mut self, packet: &webrtc::rtp::packet::Packet) {
        let s = &self.shared;
        s.packets_received.fetch_add(1, Ordering::Relaxed);
        s.bytes_received
            .fetch_add(packet.payload.len() as u64, Ordering::Relaxed);
        let h = &packet.header;
        if h.ssrc != self.ssrc {
            self.ssrc = h.ssrc;
            self.last_seq = None;
        }
        // Drop duplicates and late packets; count a forward gap for concealment.
        let lost = match self.last_seq {
            Some(last) => {
                let delta = h.sequence_number.wrapping_sub(last) as i16;
                if delta <= 0 {
                    return;
                }
                (delta - 1) as usize
            }
            None => 0,
        };
        self.last_seq = Some(h.sequence_number);
        match s.payload_kind(h.payload_type) {
            Some(PayloadKind::Audio(codec)) => self.audio(codec, &packet.payload, lost),
            Some(PayloadKind::Dtmf(_)) => self.event(h.timestamp, &packet.payload),
            None => {}
        }
    }

    fn audio(&mut self, codec: Codec, payload: &[u8], lost: usize) {
        if payload.is_empty() {
            return;
        }
        let n = match codec {
            Codec::Pcmu | Codec::Pcma => {
                let decode = if codec == Codec::Pcmu {
                    g711::ulaw_decode
                } else {
                    g711::alaw_decode
                };
                // Reuse `pcm`: narrow samples at the end, wide ones from the start.
                let wide = payload.len() * 6;
                if self.pcm.len() < wide + payload.len() {
                    self.pcm.resize(wide + payload.len(), 0);
                }
                let (out, narrow) = self.pcm.split_at_mut(wide);
                for (o, &b) in narrow.iter_mut().zip(payload) {
                    *o = decode(b);
                }
                self.upsampler.process(&narrow[..payload.len()], out);
                wide
            }
            Codec::Opus => {
                let decoder = match self.opus.as_mut() {
                    Some(d) => d,
                    None => match opus::Decoder::new(48_000, opus::Channels::Mono) {
                        Ok(d) => self.opus.insert(d),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot create the Opus decoder");
                            return;
                        }
                    },
                };
                // A short loss: conceal all but the last lost frame, recover that one from
                // the in-band FEC carried by this packet (RFC 7587 §3.2).
                if (1..=3).contains(&lost) {
                    for i in 0..lost {
                        let fec = i + 1 == lost;
                        let input: &[u8] = if fec { payload } else { &[] };
                        if let Ok(m) = decoder.decode(input, &mut self.pcm[..FRAME_SAMPLES], fec) {
                            self.shared.playout().push(&self.pcm[..m]);
                        }
                    }
                }
                match decoder.decode(payload, &mut self.pcm, false) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::debug!(error = %e, "bad Opus packet");
                        return;
                    }
                }
            }
        };
        self.shared.playout().push(&self.pcm[..n]);
        self.shared.note_first_audio(Instant::now());
    }

    fn event(&mut self, timestamp: u32, payload: &[u8]) {
        let Some(event) = dtmf::parse(payload) else { return };
        // One key press = one RTP timestamp; its updates and end retransmits share it.
        if self.last_event_ts == Some(timestamp) {
            return;
        }
        self.last_event_ts = Some(timestamp);
        if let Some(digit) = dtmf::event_digit(event.code) {
            let s = &self.shared;
            s.status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .dtmf_received
                .push(digit);
            let _ = s.events.send(MediaEvent::Dtmf(digit));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playout_buffers_then_plays_in_order() {
        let mut p = Playout::default();
        let mut out = [1i16; FRAME_SAMPLES];
        p.push(&[5; FRAME_SAMPLES]);
        p.pop(&mut out);
        assert!(out.iter().all(|&s| s == 0), "still buffering");
        p.push(&[6; FRAME_SAMPLES]);
        p.pop(&mut out);
        assert!(out.iter().all(|&s| s == 5));
        p.pop(&mut out);
        assert!(out.iter().all(|&s| s == 6));
        p.pop(&mut out);
        assert!(out.iter().all(|&s| s == 0), "underrun gives silence");
    }

    #[test]
    fn playout_caps_latency() {
        let mut p = Playout::default();
        for _ in 0..30 {
            p.push(&[1; FRAME_SAMPLES]);
        }
        assert!(p.buf.len() <= MAX_BUFFERED);
    }
}
