//! Bringing up the loopback interface of a fresh network namespace, over rtnetlink.
//!
//! A new network namespace has `lo` down, so even a test's own `127.0.0.1` server would be
//! unreachable. Setting the flag takes one `RTM_SETLINK` message; the `ip` tool cannot do it
//! for us (an unprivileged user's capabilities in the namespace do not survive `exec`), and
//! the `SIOCSIFFLAGS` ioctl would need `unsafe`.

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkFlags, LinkHeader, LinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// The loopback interface's index: always the first one of a namespace.
const LOOPBACK_INDEX: u32 = 1;

/// Sets `lo` up in the calling process's network namespace.
pub fn loopback_up() -> std::io::Result<()> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut link = LinkMessage::default();
    link.header = LinkHeader {
        index: LOOPBACK_INDEX,
        flags: LinkFlags::Up,
        change_mask: LinkFlags::Up,
        ..LinkHeader::default()
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    let mut message = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::SetLink(link)),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    socket.send(&bytes, 0)?;
    let (reply, _) = socket.recv_from_full()?;
    let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply)
        .map_err(|error| std::io::Error::other(format!("unreadable netlink reply: {error}")))?;
    match reply.payload {
        NetlinkPayload::Error(error) => match error.code {
            None => Ok(()),
            Some(code) => Err(std::io::Error::from_raw_os_error(-code.get())),
        },
        other => Err(std::io::Error::other(format!(
            "unexpected netlink reply: {other:?}"
        ))),
    }
}
