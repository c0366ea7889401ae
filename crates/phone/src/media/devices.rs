//! Sound cards through cpal (ALSA on Linux).
//!
//! A cpal stream lives on its own thread (streams are not `Send` on every host); the thread
//! and the media clock exchange samples through a small shared buffer. The device's own rate
//! and channel count are converted to and from 48 kHz mono here.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use super::audio::{AudioSink, AudioSource, SAMPLE_RATE};
use super::MediaError;

/// Names of the sound devices, as cpal reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// Capture devices (microphones).
    pub inputs: Vec<String>,
    /// Playback devices (headphones, speakers).
    pub outputs: Vec<String>,
}

/// Lists the sound devices; empty lists when there are none or the host cannot be queried.
pub fn list() -> Devices {
    let host = cpal::default_host();
    let names = |devices: Result<Vec<cpal::Device>, cpal::DevicesError>| -> Vec<String> {
        match devices {
            Ok(list) => list.iter().filter_map(|d| d.name().ok()).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list audio devices");
                Vec::new()
            }
        }
    };
    Devices {
        inputs: names(host.input_devices().map(Iterator::collect)),
        outputs: names(host.output_devices().map(Iterator::collect)),
    }
}

/// At most this much audio waits between the device and the media clock (200 ms).
const MAX_BUFFERED: usize = SAMPLE_RATE as usize / 5;

type Shared = Arc<Mutex<VecDeque<i16>>>;

/// Streaming linear resampler (speech quality; the device rate is usually 44.1 or 48 kHz).
#[derive(Debug)]
struct Resampler {
    step: f64,
    t: f64,
    prev: f32,
}

impl Resampler {
    fn new(from: u32, to: u32) -> Self {
        Resampler {
            step: f64::from(from) / f64::from(to),
            t: 0.0,
            prev: 0.0,
        }
    }

    fn push(&mut self, x: f32, mut emit: impl FnMut(f32)) {
        while self.t <= 1.0 {
            emit(self.prev + (x - self.prev) * self.t as f32);
            self.t += self.step;
        }
        self.t -= 1.0;
        self.prev = x;
    }
}

fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32767.0) as i16
}

/// The thread that owns a cpal stream until told to stop.
struct StreamThread {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StreamThread {
    fn spawn(
        open: impl FnOnce() -> Result<cpal::Stream, MediaError> + Send + 'static,
    ) -> Result<StreamThread, MediaError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("audio-device".into())
            .spawn(move || match open() {
                Ok(stream) => {
                    let _ = ready_tx.send(Ok(()));
                    // Blocks until the owner drops or signals; then the stream is dropped here.
                    let _ = stop_rx.recv();
                    drop(stream);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(StreamThread {
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(MediaError::AudioDevice("the audio thread ended unexpectedly".into())),
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pick_device(input: bool, name: Option<&str>) -> Result<cpal::Device, MediaError> {
    let host = cpal::default_host();
    let kind = if input { "microphone" } else { "speaker/headphones" };
    match name {
        None => {
            let device = if input {
                host.default_input_device()
            } else {
                host.default_output_device()
            };
            device.ok_or_else(|| MediaError::NoAudioDevice(format!("no default {kind}")))
        }
        Some(wanted) => {
            let devices = if input {
                host.input_devices()
            } else {
                host.output_devices()
            };
            let mut devices = devices.map_err(|e| MediaError::NoAudioDevice(e.to_string()))?;
            devices
                .find(|d| d.name().map(|n| n == wanted).unwrap_or(false))
                .ok_or_else(|| MediaError::NoAudioDevice(format!("{kind} \"{wanted}\" is not connected")))
        }
    }
}

/// ALSA names a "default" device even without any sound card; opening it then fails with
/// DeviceNotAvailable, which for the user means "no device".
fn config_error(e: cpal::DefaultStreamConfigError, kind: &str) -> MediaError {
    match e {
        cpal::DefaultStreamConfigError::DeviceNotAvailable => MediaError::NoAudioDevice(format!("no {kind} available")),
        other => MediaError::AudioDevice(other.to_string()),
    }
}

fn stream_error(e: cpal::StreamError) {
    tracing::warn!(error = %e, "audio device stream error");
}

/// Captures from a microphone.
pub struct DeviceSource {
    buffer: Shared,
    _thread: StreamThread,
}

impl std::fmt::Debug for DeviceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSource").finish_non_exhaustive()
    }
}

impl DeviceSource {
    /// Opens the named capture device, or the default one with `None`.
    pub fn open(name: Option<&str>) -> Result<Self, MediaError> {
        let device = pick_device(true, name)?;
        let buffer: Shared = Arc::new(Mutex::new(VecDeque::with_capacity(MAX_BUFFERED)));
        let shared = Arc::clone(&buffer);
        let thread = StreamThread::spawn(move || {
            let supported = device
                .default_input_config()
                .map_err(|e| config_error(e, "microphone"))?;
            let format = supported.sample_format();
            let config = supported.config();
            let stream = match format {
                SampleFormat::F32 => build_input::<f32>(&device, &config, shared),
                SampleFormat::I16 => build_input::<i16>(&device, &config, shared),
                SampleFormat::I32 => build_input::<i32>(&device, &config, shared),
                SampleFormat::U16 => build_input::<u16>(&device, &config, shared),
                other => return Err(MediaError::AudioDevice(format!("unsupported sample format {other}"))),
            }?;
            stream.play().map_err(|e| MediaError::AudioDevice(e.to_string()))?;
            Ok(stream)
        })?;
        Ok(DeviceSource {
            buffer,
            _thread: thread,
        })
    }
}

fn build_input<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    shared: Shared,
) -> Result<cpal::Stream, MediaError>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let mut resampler = Resampler::new(config.sample_rate.0, SAMPLE_RATE);
    device
        .build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _| {
                let mut buf = shared.lock().unwrap_or_else(PoisonError::into_inner);
                for frame in data.chunks_exact(channels) {
                    let x = frame.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() / channels as f32;
                    resampler.push(x, |y| buf.push_back(to_i16(y)));
                }
                let excess = buf.len().saturating_sub(MAX_BUFFERED);
                buf.drain(..excess);
            },
            stream_error,
            None,
        )
        .map_err(|e| MediaError::AudioDevice(e.to_string()))
}

impl AudioSource for DeviceSource {
    fn read(&mut self, frame: &mut [i16]) {
        let mut buf = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let n = frame.len().min(buf.len());
        for (o, s) in frame.iter_mut().zip(buf.drain(..n)) {
            *o = s;
        }
        frame[n..].fill(0);
    }
}

/// Plays to headphones or speakers.
pub struct DeviceSink {
    buffer: Shared,
    resampler: Resampler,
    _thread: StreamThread,
}

impl std::fmt::Debug for DeviceSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSink").finish_non_exhaustive()
    }
}

impl DeviceSink {
    /// Opens the named playback device, or the default one with `None`.
    pub fn open(name: Option<&str>) -> Result<Self, MediaError> {
        let device = pick_device(false, name)?;
        let supported = device
            .default_output_config()
            .map_err(|e| config_error(e, "playback device"))?;
        let rate = supported.sample_rate().0;
        let buffer: Shared = Arc::new(Mutex::new(VecDeque::with_capacity(MAX_BUFFERED)));
        let shared = Arc::clone(&buffer);
        let thread = StreamThread::spawn(move || {
            let format = supported.sample_format();
            let config = supported.config();
            let stream = match format {
                SampleFormat::F32 => build_output::<f32>(&device, &config, shared),
                SampleFormat::I16 => build_output::<i16>(&device, &config, shared),
                SampleFormat::I32 => build_output::<i32>(&device, &config, shared),
                SampleFormat::U16 => build_output::<u16>(&device, &config, shared),
                other => return Err(MediaError::AudioDevice(format!("unsupported sample format {other}"))),
            }?;
            stream.play().map_err(|e| MediaError::AudioDevice(e.to_string()))?;
            Ok(stream)
        })?;
        Ok(DeviceSink {
            buffer,
            resampler: Resampler::new(SAMPLE_RATE, rate),
            _thread: thread,
        })
    }
}

fn build_output<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    shared: Shared,
) -> Result<cpal::Stream, MediaError>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = usize::from(config.channels.max(1));
    device
        .build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], _| {
                let mut buf = shared.lock().unwrap_or_else(PoisonError::into_inner);
                for frame in data.chunks_exact_mut(channels) {
                    let x = f32::from(buf.pop_front().unwrap_or(0)) / 32768.0;
                    frame.fill(T::from_sample(x));
                }
            },
            stream_error,
            None,
        )
        .map_err(|e| MediaError::AudioDevice(e.to_string()))
}

impl AudioSink for DeviceSink {
    fn write(&mut self, frame: &[i16]) {
        let mut buf = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        for &s in frame {
            self.resampler
                .push(f32::from(s) / 32768.0, |y| buf.push_back(to_i16(y)));
        }
        let excess = buf.len().saturating_sub(MAX_BUFFERED);
        buf.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampler_keeps_the_rate() {
        let mut r = Resampler::new(44_100, 48_000);
        let mut n = 0;
        for _ in 0..44_100 {
            r.push(0.5, |_| n += 1);
        }
        assert!((47_990..=48_010).contains(&n), "{n}");
    }

    #[test]
    fn default_devices_open_or_fail_cleanly() {
        // On a machine without sound cards (CI) this must be a clear error, not a panic.
        let devices = list();
        println!("{devices:?}");
        let (source, sink) = (DeviceSource::open(None), DeviceSink::open(None));
        println!("default microphone: {source:?}; default output: {sink:?}");
        if devices.inputs.is_empty() {
            assert!(matches!(source, Err(MediaError::NoAudioDevice(_))), "{source:?}");
        }
        if devices.outputs.is_empty() {
            assert!(matches!(sink, Err(MediaError::NoAudioDevice(_))), "{sink:?}");
        }
    }

    #[test]
    fn missing_device_is_an_error_not_a_panic() {
        let r = DeviceSource::open(Some("no such device, surely"));
        assert!(matches!(r, Err(MediaError::NoAudioDevice(_))), "{r:?}");
        let r = DeviceSink::open(Some("no such device, surely"));
        assert!(matches!(r, Err(MediaError::NoAudioDevice(_))), "{r:?}");
    }
}
