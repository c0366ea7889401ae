//! WAV files as audio sources (prompts, test speech) and sinks (debug captures).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use super::audio::{AudioSink, AudioSource, SAMPLE_RATE};
use super::g711;
use super::MediaError;

/// Plays a WAV file (PCM 8/16/24/32-bit, float 32, µ-law or A-law; any rate and channel
/// count), mixed down to mono and resampled to 48 kHz when opened. The whole file is kept in
/// memory, so use it for prompts and test speech, not hours of audio.
#[derive(Debug, Clone)]
pub struct WavSource {
    samples: Vec<i16>,
    pos: usize,
    looped: bool,
}

impl WavSource {
    /// Opens `path`; with `looped` it restarts at the end, otherwise it then gives silence.
    pub fn open(path: impl AsRef<Path>, looped: bool) -> Result<Self, MediaError> {
        Self::from_bytes(&std::fs::read(path)?, looped)
    }

    /// A WAV file already in memory.
    pub fn from_bytes(bytes: &[u8], looped: bool) -> Result<Self, MediaError> {
        let (rate, mono) = parse_wav(bytes)?;
        Ok(WavSource {
            samples: resample_linear(&mono, rate, SAMPLE_RATE),
            pos: 0,
            looped,
        })
    }

    /// True once a non-looped file has been played to the end.
    pub fn finished(&self) -> bool {
        !self.looped && self.pos >= self.samples.len()
    }
}

impl AudioSource for WavSource {
    fn read(&mut self, frame: &mut [i16]) {
        let mut filled = 0;
        while filled < frame.len() {
            if self.pos >= self.samples.len() {
                if self.looped && !self.samples.is_empty() {
                    self.pos = 0;
                } else {
                    frame[filled..].fill(0);
                    return;
                }
            }
            let n = (frame.len() - filled).min(self.samples.len() - self.pos);
            frame[filled..filled + n].copy_from_slice(&self.samples[self.pos..self.pos + n]);
            filled += n;
            self.pos += n;
        }
    }
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Returns (sample rate, mono samples).
pub(crate) fn parse_wav(b: &[u8]) -> Result<(u32, Vec<i16>), MediaError> {
    let bad = |why: &str| MediaError::AudioFile(why.to_owned());
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let mut at = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    let mut data: Option<&[u8]> = None;
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let len = le_u32(b, at + 4).ok_or_else(|| bad("truncated chunk"))? as usize;
        let body = &b[at + 8..(at + 8).saturating_add(len).min(b.len())];
        if id == b"fmt " {
            let format = le_u16(body, 0).ok_or_else(|| bad("short fmt chunk"))?;
            let channels = le_u16(body, 2).ok_or_else(|| bad("short fmt chunk"))?;
            let rate = le_u32(body, 4).ok_or_else(|| bad("short fmt chunk"))?;
            let bits = le_u16(body, 14).ok_or_else(|| bad("short fmt chunk"))?;
            // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the GUID.
            let format = if format == 0xFFFE {
                le_u16(body, 24).unwrap_or(0)
            } else {
                format
            };
            fmt = Some((format, channels, rate, bits));
        } else if id == b"data" {
            data = Some(body);
        }
        at = at + 8 + len + (len & 1);
    }
    let (format, channels, rate, bits) = fmt.ok_or_else(|| bad("no fmt chunk"))?;
    let data = data.ok_or_else(|| bad("no data chunk"))?;
    if channels == 0 || rate == 0 {
        return Err(bad("zero channels or rate"));
    }
    let decode: fn(&[u8]) -> i32 = match (format, bits) {
        (1, 8) => |s| (i32::from(s[0]) - 128) << 8,
        (1, 16) => |s| i32::from(i16::from_le_bytes([s[0], s[1]])),
        (1, 24) => |s| i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 16,
        (1, 32) => |s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]) >> 16,
        (3, 32) => |s| (f32::from_le_bytes([s[0], s[1], s[2], s[3]]).clamp(-1.0, 1.0) * 32767.0) as i32,
        (6, 8) => |s| i32::from(g711::alaw_decode(s[0])),
        (7, 8) => |s| i32::from(g711::ulaw_decode(s[0])),
        _ => return Err(bad(&format!("format {format} with {bits} bits per sample"))),
    };
    let width = usize::from(bits / 8);
    let frame = width * usize::from(channels);
    let mono = data
        .chunks_exact(frame)
        .map(|f| {
            let sum: i32 = f.chunks_exact(width).map(decode).sum();
            (sum / i32::from(channels)).clamp(-32768, 32767) as i16
        })
        .collect();
    Ok((rate, mono))
}

/// Linear-interpolation resampling (enough for prompts and tests).
pub(crate) fn resample_linear(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let ratio = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let x = i as f64 * ratio;
            let j = x as usize;
            let frac = x - j as f64;
            let a = f64::from(input[j.min(input.len() - 1)]);
            let b = f64::from(input[(j + 1).min(input.len() - 1)]);
            (a + (b - a) * frac) as i16
        })
        .collect()
}

/// Writes received audio into a mono 16-bit WAV file at 48 kHz or 8 kHz. The header is
/// completed when the sink is finished or dropped (at the end of the call).
#[derive(Debug)]
pub struct WavSink {
    out: Option<BufWriter<File>>,
    rate: u32,
    data_bytes: u32,
    narrow: Vec<i16>,
    bytes: Vec<u8>,
}

impl WavSink {
    /// Creates `path` for 48 kHz mono audio.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, MediaError> {
        Self::create_with_rate(path, SAMPLE_RATE)
    }

    /// Creates `path` for mono audio at `rate`, which must be 48000 or 8000.
    pub fn create_with_rate(path: impl AsRef<Path>, rate: u32) -> Result<Self, MediaError> {
        if rate != SAMPLE_RATE && rate != 8000 {
            return Err(MediaError::AudioFile(format!(
                "WAV sink rate {rate}: use 48000 or 8000"
            )));
        }
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&wav_header(rate, WavEncoding::Pcm16, 0))?;
        Ok(WavSink {
            out: Some(out),
            rate,
            data_bytes: 0,
            narrow: Vec::new(),
            bytes: Vec::new(),
        })
    }

    /// Completes the header and closes the file.
    pub fn finish(mut self) -> Result<(), MediaError> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<(), MediaError> {
        if let Some(mut out) = self.out.take() {
            out.seek(SeekFrom::Start(0))?;
            out.write_all(&wav_header(self.rate, WavEncoding::Pcm16, self.data_bytes))?;
            out.flush()?;
        }
        Ok(())
    }
}

impl AudioSink for WavSink {
    fn write(&mut self, frame: &[i16]) {
        let samples: &[i16] = if self.rate == SAMPLE_RATE {
            frame
        } else {
            self.narrow.resize(frame.len() / 6, 0);
            g711::downsample_6(frame, &mut self.narrow);
            &self.narrow
        };
        self.bytes.clear();
        self.bytes.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.write_all(&self.bytes) {
                tracing::warn!(error = %e, "WAV sink write failed; stopping it");
                self.out = None;
                return;
            }
            self.data_bytes = self.data_bytes.saturating_add(self.bytes.len() as u32);
        }
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Err(e) = self.finish_inner() {
            tracing::warn!(error = %e, "WAV sink could not complete its header");
        }
    }
}

/// How the samples of a WAV file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// Linear PCM, 16 bits a sample.
    Pcm16,
    /// G.711 µ-law, 8 bits a sample (`WAVE_FORMAT_MULAW`).
    Ulaw,
    /// G.711 A-law, 8 bits a sample (`WAVE_FORMAT_ALAW`).
    Alaw,
}

impl WavEncoding {
    /// The format tag of the `fmt ` chunk and the bytes a sample takes.
    fn tag_and_width(self) -> (u16, u16) {
        match self {
            WavEncoding::Pcm16 => (1, 2),
            WavEncoding::Alaw => (6, 1),
            WavEncoding::Ulaw => (7, 1),
        }
    }
}

/// A mono WAV file of `samples` at `rate`, stored as `encoding`, in memory.
pub fn wav_bytes(samples: &[i16], rate: u32, encoding: WavEncoding) -> Vec<u8> {
    let mut data = Vec::with_capacity(samples.len() * 2);
    match encoding {
        WavEncoding::Pcm16 => data.extend(samples.iter().flat_map(|s| s.to_le_bytes())),
        WavEncoding::Ulaw => data.extend(samples.iter().map(|&s| g711::ulaw_encode(s))),
        WavEncoding::Alaw => data.extend(samples.iter().map(|&s| g711::alaw_encode(s))),
    }
    let data_bytes = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut file = wav_header(rate, encoding, data_bytes);
    file.extend_from_slice(&data);
    file
}

/// The RIFF header up to the data (whose length is `data_bytes`). Non-PCM formats carry the
/// `cbSize` field and a `fact` chunk with the sample count, as the WAVE format asks of them.
pub(crate) fn wav_header(rate: u32, encoding: WavEncoding, data_bytes: u32) -> Vec<u8> {
    let (tag, width) = encoding.tag_and_width();
    let pcm = encoding == WavEncoding::Pcm16;
    let fmt_len: u32 = if pcm { 16 } else { 18 };
    let fact: u32 = if pcm { 0 } else { 12 };
    let riff_len = (4 + 8 + fmt_len + fact + 8).saturating_add(data_bytes);
    let mut h = Vec::with_capacity(58);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&riff_len.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * u32::from(width)).to_le_bytes());
    h.extend_from_slice(&width.to_le_bytes()); // block align
    h.extend_from_slice(&(width * 8).to_le_bytes());
    if !pcm {
        h.extend_from_slice(&0u16.to_le_bytes()); // cbSize
        h.extend_from_slice(b"fact");
        h.extend_from_slice(&4u32.to_le_bytes());
        h.extend_from_slice(&(data_bytes / u32::from(width)).to_le_bytes());
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_bytes.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{dominant_frequency, tone_level, ToneSource, FRAME_SAMPLES};

    #[test]
    fn sink_then_source_round_trip_at_8k() {
        let path = std::env::temp_dir().join(format!("dialog-wav-{}.wav", std::process::id()));
        let mut sink = WavSink::create_with_rate(&path, 8000).expect("create");
        let mut tone = ToneSource::new(700.0, 8000);
        let mut frame = [0i16; FRAME_SAMPLES];
        for _ in 0..50 {
            tone.read(&mut frame);
            sink.write(&frame);
        }
        sink.finish().expect("finish");
        let mut src = WavSource::open(&path, false).expect("open");
        let mut all = Vec::new();
        for _ in 0..50 {
            src.read(&mut frame);
            all.extend_from_slice(&frame);
        }
        assert!(src.finished());
        let f = dominant_frequency(&all, SAMPLE_RATE).unwrap_or(0.0);
        assert!((f - 700.0).abs() < 5.0, "{f}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn g711_files_in_memory_read_back_as_the_tone() {
        let tone: Vec<i16> = (0..1600)
            .map(|i| ((2.0 * std::f64::consts::PI * 425.0 * f64::from(i) / 8000.0).sin() * 8000.0) as i16)
            .collect();
        for encoding in [WavEncoding::Ulaw, WavEncoding::Alaw, WavEncoding::Pcm16] {
            let file = wav_bytes(&tone, 8000, encoding);
            let (header, per_sample) = if encoding == WavEncoding::Pcm16 {
                (44, 2)
            } else {
                (58, 1)
            };
            assert_eq!(file.len(), header + 1600 * per_sample, "{encoding:?}");
            assert_eq!(
                le_u32(&file, 4).map(|n| n as usize + 8),
                Some(file.len()),
                "{encoding:?}: RIFF length"
            );
            let mut src = WavSource::from_bytes(&file, false).expect("parse");
            let mut all = vec![0i16; 9600];
            src.read(&mut all);
            assert!(src.finished(), "{encoding:?}: 0.2 s");
            // Too short for dominant_frequency's 10 Hz scan: the tone's own level instead.
            let (tone, off) = (
                tone_level(&all, SAMPLE_RATE, 425.0),
                tone_level(&all, SAMPLE_RATE, 1000.0),
            );
            assert!(
                tone > 7000.0 && off < 300.0,
                "{encoding:?}: {tone} at 425 Hz, {off} at 1 kHz"
            );
        }
        let ulaw = wav_bytes(&tone, 8000, WavEncoding::Ulaw);
        assert_eq!(&ulaw[20..22], &7u16.to_le_bytes(), "WAVE_FORMAT_MULAW");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_wav(b"RIFF\0\0\0\0WAVEjunk").is_err());
        assert!(parse_wav(b"hello").is_err());
    }
}
