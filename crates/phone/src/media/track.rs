//! Our outgoing audio track. Unlike webrtc-rs's `TrackLocalStaticRTP`, it leaves the payload
//! type of each packet alone, so audio and RFC 4733 events share one RTP stream (same SSRC,
//! one sequence space) with their own negotiated payload types.

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecParameters, RTPCodecType};
use webrtc::track::track_local::{TrackLocal, TrackLocalContext, TrackLocalWriter};

/// Where packets go once the sender is bound after negotiation.
pub(crate) struct Binding {
    pub(crate) ctx: TrackLocalContext,
    pub(crate) writer: Arc<dyn TrackLocalWriter + Send + Sync>,
}

impl Binding {
    /// The sender is paused when the negotiated direction does not include sending.
    pub(crate) fn paused(&self) -> bool {
        self.ctx.paused().load(std::sync::atomic::Ordering::Relaxed)
    }
}

pub(crate) struct AudioTrack {
    binding: Mutex<Option<Arc<Binding>>>,
}

impl AudioTrack {
    pub(crate) fn new() -> Self {
        AudioTrack {
            binding: Mutex::new(None),
        }
    }

    pub(crate) fn binding(&self) -> Option<Arc<Binding>> {
        self.binding.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[async_trait::async_trait]
impl TrackLocal for AudioTrack {
    async fn bind(&self, t: &TrackLocalContext) -> webrtc::error::Result<RTCRtpCodecParameters> {
        let codec = t
            .codec_parameters()
            .iter()
            .find(|c| !c.capability.mime_type.eq_ignore_ascii_case("audio/telephone-event"))
            .cloned()
            .ok_or(webrtc::Error::ErrUnsupportedCodec)?;
        let binding = Binding {
            ctx: t.clone(),
            writer: t.write_stream(),
        };
        *self.binding.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(binding));
        Ok(codec)
    }

    async fn unbind(&self, t: &TrackLocalContext) -> webrtc::error::Result<()> {
        let mut binding = self.binding.lock().unwrap_or_else(PoisonError::into_inner);
        if binding.as_ref().is_some_and(|b| b.ctx.id() == t.id()) {
            *binding = None;
        }
        Ok(())
    }

    fn id(&self) -> &str {
        "audio"
    }

    fn rid(&self) -> Option<&str> {
        None
    }

    fn stream_id(&self) -> &str {
        "dialog"
    }

    fn kind(&self) -> RTPCodecType {
        RTPCodecType::Audio
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
