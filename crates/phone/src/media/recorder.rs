//! The call recorder: both directions mixed, kept as G.711 µ-law in a WAV file, 8 kHz mono.
//!
//! The telephone band is what the PBX and G.711 carry, and µ-law is what the PBX itself
//! writes; encoding it is a table lookup, so the recorder costs the call next to nothing (an
//! Opus encoder here took about a sixth of a call's CPU). The price is size: 8 KB a second,
//! about 29 MB an hour (docs/telephony.md, "Recordings").

use std::time::Duration;

use super::audio::{FRAME_DURATION, SAMPLE_RATE};
use super::g711::{downsample_6, ulaw_encode, NARROW_FRAME};
use super::wav::{parse_wav, resample_linear, wav_header, WavEncoding};
use super::MediaError;

/// A finished call recording.
#[derive(Debug, Clone)]
pub struct Recording {
    /// A WAV file (G.711 µ-law, 8 kHz mono), both directions mixed.
    pub data: Vec<u8>,
    /// MIME type of `data`.
    pub codec: &'static str,
    /// Length of the recorded audio.
    pub duration: Duration,
}

/// MIME type of recordings.
pub const RECORDING_MIME: &str = "audio/wav";

const RATE: u32 = 8_000;

/// Keeps 20 ms frames of 48 kHz mono as µ-law at 8 kHz, in memory.
pub(crate) struct Recorder {
    data: Vec<u8>,
    narrow: [i16; NARROW_FRAME],
    /// 20 ms frames pushed.
    frames: u64,
}

impl Recorder {
    pub(crate) fn new() -> Result<Self, MediaError> {
        Ok(Recorder {
            // A minute of audio before the first reallocation.
            data: Vec::with_capacity(60 * RATE as usize),
            narrow: [0; NARROW_FRAME],
            frames: 0,
        })
    }

    /// Adds one 20 ms frame (48 kHz mono).
    pub(crate) fn push(&mut self, frame: &[i16]) -> Result<(), MediaError> {
        downsample_6(frame, &mut self.narrow);
        self.data.extend(self.narrow.iter().map(|&s| ulaw_encode(s)));
        self.frames += 1;
        Ok(())
    }

    /// The WAV file of everything pushed.
    pub(crate) fn finish(self) -> Result<Recording, MediaError> {
        let bytes = u32::try_from(self.data.len())
            .map_err(|_| MediaError::Recording("a recording longer than a WAV file holds (74 hours)".into()))?;
        let mut data = wav_header(RATE, WavEncoding::Ulaw, bytes);
        data.extend_from_slice(&self.data);
        Ok(Recording {
            data,
            codec: RECORDING_MIME,
            duration: FRAME_DURATION * u32::try_from(self.frames).unwrap_or(u32::MAX),
        })
    }
}

/// An empty recording (when recording is off or failed at the start).
pub(crate) fn empty_recording() -> Recording {
    Recording {
        data: Vec::new(),
        codec: RECORDING_MIME,
        duration: Duration::ZERO,
    }
}

/// Decodes a recording (a WAV file of any encoding the phone reads) into 48 kHz mono samples.
pub fn decode_recording(wav: &[u8]) -> Result<Vec<i16>, MediaError> {
    let (rate, mono) = parse_wav(wav).map_err(|e| MediaError::Recording(e.to_string()))?;
    Ok(resample_linear(&mono, rate, SAMPLE_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::FRAME_SAMPLES;
    use crate::media::{dominant_frequency, AudioSource, ToneSource};

    #[test]
    fn records_and_decodes_a_tone() {
        let mut rec = Recorder::new().expect("recorder");
        let mut tone = ToneSource::new(700.0, 8000);
        let mut frame = [0i16; FRAME_SAMPLES];
        for _ in 0..100 {
            tone.read(&mut frame);
            rec.push(&frame).expect("push");
        }
        let recording = rec.finish().expect("finish");
        assert_eq!(recording.duration, Duration::from_secs(2));
        assert_eq!(recording.codec, "audio/wav");
        // 2 s at 8,000 µ-law bytes a second, after the header.
        assert!(
            (16_000..16_100).contains(&recording.data.len()),
            "{}",
            recording.data.len()
        );
        let pcm = decode_recording(&recording.data).expect("decode");
        assert!(pcm.len() >= 95_000, "{}", pcm.len());
        let f = dominant_frequency(&pcm[10_000..90_000], SAMPLE_RATE).unwrap_or(0.0);
        assert!((f - 700.0).abs() < 5.0, "{f}");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_recording(b"not a wav at all").is_err());
        assert!(decode_recording(&[]).is_err());
    }
}
