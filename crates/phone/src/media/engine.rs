//! The WebRTC stack set up for SIP telephony: audio codecs only, UDP/IPv4 host candidates
//! (loopback when asked), no mDNS, RTCP reports and nothing else.

use std::time::Duration;

use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_PCMA, MIME_TYPE_PCMU, MIME_TYPE_TELEPHONE_EVENT,
};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_connection_state::RTCIceConnectionState;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType};

use super::{Codec, IceState, MediaError, MediaOptions, TransportState};

/// Payload type of telephone-event in our offers (the common choice of Asterisk and others).
const DTMF_PT: u8 = 101;

/// A peer connection for `opts` (whose codec list is already deduplicated and non-empty).
pub(crate) async fn peer_connection(opts: &MediaOptions) -> Result<RTCPeerConnection, MediaError> {
    let mut media = MediaEngine::default();
    for &c in &opts.codecs {
        let params = RTCRtpCodecParameters {
            capability: capability(c),
            payload_type: payload_type(c),
            ..Default::default()
        };
        media.register_codec(params, RTPCodecType::Audio)?;
    }
    media.register_codec(
        RTCRtpCodecParameters {
            capability: RTCRtpCodecCapability {
                mime_type: MIME_TYPE_TELEPHONE_EVENT.to_owned(),
                clock_rate: 8000,
                channels: 0,
                sdp_fmtp_line: "0-16".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: DTMF_PT,
            ..Default::default()
        },
        RTPCodecType::Audio,
    )?;

    let mut settings = SettingEngine::default();
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    settings.set_network_types(vec![NetworkType::Udp4]);
    // Fingerprint in the media section, where browsers put it and every PBX looks.
    settings.set_sdp_media_level_fingerprints(true);
    // ICE nomination waits (pion defaults: prflx 1 s, srflx 0.5 s, relay 2 s) delay first
    // audio: a PBX checks us before our answer is applied, so the working pair is often
    // peer-reflexive first. Calls to a PBX have one sensible path; take it at once.
    settings.set_prflx_acceptance_min_wait(Some(Duration::ZERO));
    settings.set_srflx_acceptance_min_wait(Some(Duration::ZERO));
    settings.set_relay_acceptance_min_wait(Some(Duration::from_millis(500)));
    // 127.0.0.1 too: a PBX on the same host (or a closed test network) is reachable only
    // there; elsewhere the pair simply fails its checks while the real one wins.
    settings.set_include_loopback_candidate(true);
    if opts.loopback_only {
        settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    }
    // Only RTCP sender/receiver reports: PBXs and monitoring read them; NACK, TWCC and
    // the rest are for video.
    let interceptors = configure_rtcp_reports(Registry::new());
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(interceptors)
        .build();
    let config = RTCConfiguration {
        ice_servers: opts
            .ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect(),
        ..Default::default()
    };
    Ok(api.new_peer_connection(config).await?)
}

fn capability(codec: Codec) -> RTCRtpCodecCapability {
    match codec {
        Codec::Opus => RTCRtpCodecCapability {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        Codec::Pcmu | Codec::Pcma => RTCRtpCodecCapability {
            mime_type: if codec == Codec::Pcmu {
                MIME_TYPE_PCMU
            } else {
                MIME_TYPE_PCMA
            }
            .to_owned(),
            clock_rate: 8000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
    }
}

fn payload_type(codec: Codec) -> u8 {
    match codec {
        Codec::Opus => 111,
        Codec::Pcmu => 0,
        Codec::Pcma => 8,
    }
}

pub(crate) fn ice_state(s: RTCIceConnectionState) -> IceState {
    match s {
        RTCIceConnectionState::Checking => IceState::Checking,
        RTCIceConnectionState::Connected => IceState::Connected,
        RTCIceConnectionState::Completed => IceState::Completed,
        RTCIceConnectionState::Disconnected => IceState::Disconnected,
        RTCIceConnectionState::Failed => IceState::Failed,
        RTCIceConnectionState::Closed => IceState::Closed,
        _ => IceState::New,
    }
}

pub(crate) fn transport_state(s: RTCPeerConnectionState) -> TransportState {
    match s {
        RTCPeerConnectionState::Connecting => TransportState::Connecting,
        RTCPeerConnectionState::Connected => TransportState::Connected,
        RTCPeerConnectionState::Disconnected => TransportState::Disconnected,
        RTCPeerConnectionState::Failed => TransportState::Failed,
        RTCPeerConnectionState::Closed => TransportState::Closed,
        _ => TransportState::New,
    }
}
