//! The call recorder: both directions mixed, encoded as Ogg Opus (RFC 7845).
//!
//! The mix is taken down to 8 kHz (telephone band, as the PBX and G.711 carry it) before
//! encoding: the narrowband encoder costs a fraction of a wideband one, and the recorder runs
//! for every call.

use std::io::Cursor;
use std::time::Duration;

use ogg::{PacketReader, PacketWriteEndInfo, PacketWriter};

use super::audio::{FRAME_DURATION, FRAME_SAMPLES, SAMPLE_RATE};
use super::MediaError;

/// A finished call recording.
#[derive(Debug, Clone)]
pub struct Recording {
    /// An Ogg Opus file, both directions mixed, mono (encoded from 8 kHz; decodes at 48 kHz).
    pub data: Vec<u8>,
    /// MIME type of `data`.
    pub codec: &'static str,
    /// Length of the recorded audio.
    pub duration: Duration,
}

/// MIME type of recordings.
pub const RECORDING_MIME: &str = "audio/ogg; codecs=opus";

const RATE: u32 = 8_000;
/// Input samples averaged into one recorded sample.
const DOWN: usize = (SAMPLE_RATE / RATE) as usize;
const FRAME: usize = FRAME_SAMPLES / DOWN;
/// 20 ms frames per Opus packet: 60 ms packets take a third of the encoder calls, and an
/// archive has no latency to keep low.
const PACKET_FRAMES: usize = 3;
const SERIAL: u32 = 0x4469_616c; // "Dial"
/// Packets per Ogg page: about one second, so a cut-off file loses little.
const PACKETS_PER_PAGE: u64 = 17;

/// Encodes 20 ms frames of 48 kHz mono into an in-memory Ogg Opus file.
pub(crate) struct Recorder {
    encoder: opus::Encoder,
    writer: PacketWriter<'static, Vec<u8>>,
    pre_skip: u16,
    /// 20 ms frames pushed.
    frames: u64,
    /// Opus packets written.
    packets: u64,
    narrow: [i16; FRAME * PACKET_FRAMES],
    /// Frames waiting in `narrow`.
    filled: usize,
    packet: [u8; 1500],
}

impl Recorder {
    pub(crate) fn new() -> Result<Self, MediaError> {
        let mut encoder = opus::Encoder::new(RATE, opus::Channels::Mono, opus::Application::Voip)?;
        // Telephone speech for the archive: 12 kbit/s (1.5 KB a second) at the lowest
        // complexity. The recorder runs for every call, so its CPU is the call's CPU.
        encoder.set_bitrate(opus::Bitrate::Bits(12_000))?;
        encoder.set_complexity(0)?;
        // Pre-skip is counted at 48 kHz (RFC 7845 §4.2).
        let pre_skip = u16::try_from(encoder.get_lookahead()? * DOWN as i32).unwrap_or(312);
        let mut writer = PacketWriter::new(Vec::with_capacity(64 * 1024));
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&RATE.to_le_bytes()); // original input rate, informational
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0: mono/stereo
        writer.write_packet(head, SERIAL, PacketWriteEndInfo::EndPage, 0)?;
        let vendor = b"dialog-phone";
        let mut tags = Vec::with_capacity(8 + 4 + vendor.len() + 4);
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        writer.write_packet(tags, SERIAL, PacketWriteEndInfo::EndPage, 0)?;
        Ok(Recorder {
            encoder,
            writer,
            pre_skip,
            frames: 0,
            packets: 0,
            narrow: [0; FRAME * PACKET_FRAMES],
            filled: 0,
            packet: [0; 1500],
        })
    }

    /// Adds one 20 ms frame (48 kHz mono).
    pub(crate) fn push(&mut self, frame: &[i16]) -> Result<(), MediaError> {
        let at = self.filled * FRAME;
        for (o, c) in self.narrow[at..at + FRAME].iter_mut().zip(frame.chunks_exact(DOWN)) {
            *o = (c.iter().map(|&v| i32::from(v)).sum::<i32>() / DOWN as i32) as i16;
        }
        self.frames += 1;
        self.filled += 1;
        if self.filled == PACKET_FRAMES {
            self.write(false)?;
        }
        Ok(())
    }

    /// Encodes the waiting frames (padded with silence) as one packet.
    fn write(&mut self, last: bool) -> Result<(), MediaError> {
        self.narrow[self.filled * FRAME..].fill(0);
        self.filled = 0;
        let n = self.encoder.encode(&self.narrow, &mut self.packet)?;
        self.packets += 1;
        let granule = self.packets * (PACKET_FRAMES * FRAME_SAMPLES) as u64 + u64::from(self.pre_skip);
        let end = if last {
            PacketWriteEndInfo::EndStream
        } else if self.packets.is_multiple_of(PACKETS_PER_PAGE) {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        self.writer
            .write_packet(self.packet[..n].to_vec(), SERIAL, end, granule)?;
        Ok(())
    }

    /// Ends the stream (the frames still waiting, then a packet of silence that flushes the
    /// encoder's lookahead).
    pub(crate) fn finish(mut self) -> Result<Recording, MediaError> {
        let audio_frames = self.frames;
        if self.filled > 0 {
            self.write(false)?;
        }
        self.write(true)?;
        Ok(Recording {
            data: self.writer.into_inner(),
            codec: RECORDING_MIME,
            duration: FRAME_DURATION * u32::try_from(audio_frames).unwrap_or(u32::MAX),
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

/// Decodes an Ogg Opus file (mono or stereo, as written by the recorder or by others) into
/// 48 kHz mono samples, with the pre-skip removed.
pub fn decode_recording(ogg: &[u8]) -> Result<Vec<i16>, MediaError> {
    let bad = |why: String| MediaError::Recording(why);
    let mut reader = PacketReader::new(Cursor::new(ogg));
    let head = reader
        .read_packet()
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("empty file".into()))?;
    if head.data.len() < 19 || &head.data[0..8] != b"OpusHead" {
        return Err(bad("no OpusHead: not an Ogg Opus file".into()));
    }
    let pre_skip = usize::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    let mut decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?;
    let mut out = Vec::new();
    let mut pcm = vec![0i16; 5760];
    let mut index = 0;
    while let Some(packet) = reader.read_packet().map_err(|e| bad(e.to_string()))? {
        index += 1;
        if index == 1 {
            continue; // OpusTags
        }
        let n = decoder.decode(&packet.data, &mut pcm, false)?;
        out.extend_from_slice(&pcm[..n]);
    }
    out.drain(..pre_skip.min(out.len()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let pcm = decode_recording(&recording.data).expect("decode");
        assert!(pcm.len() >= 96_000, "{}", pcm.len());
        let f = dominant_frequency(&pcm[10_000..90_000], SAMPLE_RATE).unwrap_or(0.0);
        assert!((f - 700.0).abs() < 5.0, "{f}");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_recording(b"not ogg at all").is_err());
        assert!(decode_recording(&[]).is_err());
    }
}
