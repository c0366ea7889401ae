//! Reading the rig's WAV recordings (16-bit PCM, as baresip's sndfile writes them) and
//! checking what is in them, independently of the phone's own audio code.

use std::io;
use std::path::Path;
use std::time::Duration;

/// A 16-bit PCM WAV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    /// Samples per second (per channel).
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// The samples, interleaved.
    pub samples: Vec<i16>,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

impl Wav {
    /// Reads a 16-bit PCM WAV. A file still being written (data size 0 in its header) is
    /// read up to its current end.
    pub fn read(path: impl AsRef<Path>) -> io::Result<Wav> {
        let bytes = std::fs::read(path.as_ref())?;
        Wav::parse(&bytes).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.as_ref().display())))
    }

    /// Parses WAV bytes (see [`Wav::read`]).
    pub fn parse(bytes: &[u8]) -> io::Result<Wav> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(bad("not a RIFF/WAVE file"));
        }
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut pos = 12;
        let mut format: Option<(u16, u16, u32, u16)> = None;
        while pos + 8 <= bytes.len() {
            let id = &bytes[pos..pos + 4];
            let size = u32_at(pos + 4) as usize;
            let body = pos + 8;
            if id == b"fmt " {
                if body + 16 > bytes.len() {
                    return Err(bad("short fmt chunk"));
                }
                format = Some((u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14)));
            } else if id == b"data" {
                let (tag, channels, sample_rate, bits) = format.ok_or_else(|| bad("data before fmt"))?;
                // 1 = PCM, 0xFFFE = WAVE_FORMAT_EXTENSIBLE (PCM subformat assumed)
                if !(tag == 1 || tag == 0xFFFE) || bits != 16 || channels == 0 {
                    return Err(bad("not 16-bit PCM"));
                }
                let end = if size == 0 || size == u32::MAX as usize || body + size > bytes.len() {
                    bytes.len()
                } else {
                    body + size
                };
                let samples = bytes[body..end]
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                return Ok(Wav {
                    sample_rate,
                    channels,
                    samples,
                });
            }
            pos = body + size + (size & 1);
        }
        Err(bad("no data chunk"))
    }

    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }

    /// How long it plays.
    pub fn duration(&self) -> Duration {
        if self.sample_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.frames() as f64 / f64::from(self.sample_rate))
    }

    /// The channels averaged, scaled to -1.0..1.0.
    pub fn mono(&self) -> Vec<f32> {
        let ch = usize::from(self.channels);
        self.samples
            .chunks_exact(ch)
            .map(|f| f.iter().map(|&s| f32::from(s)).sum::<f32>() / (ch as f32 * 32768.0))
            .collect()
    }

    /// Root mean square level of [`Wav::mono`] (0.0 silence; a full-scale sine ≈ 0.707; the
    /// rig's tone ≈ 0.35).
    pub fn rms(&self) -> f32 {
        rms(&self.mono())
    }

    /// The part of the signal's energy that lies at `hz` (Goertzel over 100 ms blocks):
    /// ≈ 1.0 for a clean tone at that frequency, ≈ 0 for silence or other sounds. The rig's
    /// 1000 Hz tone through Opus or G.711 measures above 0.9.
    pub fn tone_ratio(&self, hz: f64) -> f64 {
        tone_ratio(&self.mono(), f64::from(self.sample_rate), hz)
    }

    /// The same, skipping the first `skip` (e.g. the silence before media flowed).
    pub fn tone_ratio_after(&self, skip: Duration, hz: f64) -> f64 {
        let mono = self.mono();
        let from = ((skip.as_secs_f64() * f64::from(self.sample_rate)) as usize).min(mono.len());
        tone_ratio(&mono[from..], f64::from(self.sample_rate), hz)
    }
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
}

fn tone_ratio(x: &[f32], rate: f64, hz: f64) -> f64 {
    let n = ((rate / 10.0) as usize).max(1);
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    let coeff = 2.0 * w.cos();
    let (mut tone, mut total) = (0.0f64, 0.0f64);
    for block in x.chunks_exact(n) {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        let mut energy = 0.0f64;
        for &v in block {
            let v = f64::from(v);
            let s0 = v + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
            energy += v * v;
        }
        // |X(hz)|² ≈ (A·N/2)² for a sine of amplitude A; its energy is A²·N/2
        tone += s1 * s1 + s2 * s2 - coeff * s1 * s2;
        total += energy * n as f64 / 2.0;
    }
    if total <= f64::EPSILON {
        0.0
    } else {
        (tone / total).min(1.0)
    }
}
