//! Where a call's audio comes from and goes to: the traits and the simple backends.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Sample rate of all frames exchanged with sources and sinks.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame at 48 kHz mono.
pub const FRAME_SAMPLES: usize = 960;
/// Length of one frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Audio to send: called by the media clock every 20 ms with a frame of
/// [`FRAME_SAMPLES`] samples (48 kHz mono) to fill. Must not block.
pub trait AudioSource: Send {
    /// Fills `frame` with the next 20 ms of audio (silence if none is ready).
    fn read(&mut self, frame: &mut [i16]);
}

/// Audio received: called by the media clock every 20 ms with a frame of
/// [`FRAME_SAMPLES`] samples (48 kHz mono). Must not block.
pub trait AudioSink: Send {
    /// Takes the next 20 ms of audio.
    fn write(&mut self, frame: &[i16]);
}

/// A sine tone.
#[derive(Debug, Clone)]
pub struct ToneSource {
    phase: f32,
    step: f32,
    amplitude: f32,
}

impl ToneSource {
    /// A tone of `freq_hz` with peak `amplitude` (0–32767).
    pub fn new(freq_hz: f32, amplitude: i16) -> Self {
        ToneSource {
            phase: 0.0,
            step: std::f32::consts::TAU * freq_hz / SAMPLE_RATE as f32,
            amplitude: f32::from(amplitude),
        }
    }
}

impl AudioSource for ToneSource {
    fn read(&mut self, frame: &mut [i16]) {
        for s in frame.iter_mut() {
            *s = (self.amplitude * self.phase.sin()) as i16;
            self.phase += self.step;
            if self.phase >= std::f32::consts::TAU {
                self.phase -= std::f32::consts::TAU;
            }
        }
    }
}

/// Silence.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilenceSource;

impl AudioSource for SilenceSource {
    fn read(&mut self, frame: &mut [i16]) {
        frame.fill(0);
    }
}

/// Discards audio.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl AudioSink for NullSink {
    fn write(&mut self, _frame: &[i16]) {}
}

/// Keeps all received samples in memory (48 kHz mono); read them through a
/// [`CaptureHandle`]. For tests and short checks: memory grows by ~5.8 MB a minute.
#[derive(Debug, Clone, Default)]
pub struct CaptureSink {
    samples: Arc<Mutex<Vec<i16>>>,
}

/// A shared view of a [`CaptureSink`]'s samples.
#[derive(Debug, Clone)]
pub struct CaptureHandle {
    samples: Arc<Mutex<Vec<i16>>>,
}

impl CaptureSink {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle that sees the samples written to this sink.
    pub fn handle(&self) -> CaptureHandle {
        CaptureHandle {
            samples: Arc::clone(&self.samples),
        }
    }
}

impl AudioSink for CaptureSink {
    fn write(&mut self, frame: &[i16]) {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(frame);
    }
}

impl CaptureHandle {
    /// Number of samples captured so far.
    pub fn len(&self) -> usize {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// True when nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of all samples captured so far.
    pub fn samples(&self) -> Vec<i16> {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A copy of the last `n` samples (fewer if fewer were captured).
    pub fn last(&self, n: usize) -> Vec<i16> {
        let s = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        s[s.len().saturating_sub(n)..].to_vec()
    }

    /// Forgets the samples captured so far.
    pub fn clear(&self) {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// Mixes two frames with saturation into `out`.
pub(crate) fn mix(a: &[i16], b: &[i16], out: &mut [i16]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x.saturating_add(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_has_its_frequency_and_capture_keeps_it() {
        let mut tone = ToneSource::new(1000.0, 10_000);
        let mut sink = CaptureSink::new();
        let handle = sink.handle();
        let mut frame = [0i16; FRAME_SAMPLES];
        for _ in 0..50 {
            tone.read(&mut frame);
            sink.write(&frame);
        }
        assert_eq!(handle.len(), 48_000);
        let f = crate::media::dominant_frequency(&handle.samples(), SAMPLE_RATE).unwrap_or(0.0);
        assert!((f - 1000.0).abs() < 3.0, "{f}");
        assert_eq!(handle.last(10).len(), 10);
    }

    #[test]
    fn mix_saturates() {
        let mut out = [0i16; 2];
        mix(&[30_000, -30_000], &[10_000, -10_000], &mut out);
        assert_eq!(out, [i16::MAX, i16::MIN]);
    }
}
