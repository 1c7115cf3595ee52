//! Whether kha-tui runs on one of the hosts it is about to touch: the drill says so before it
//! stops anything there, and its load keeps counting through the endpoint meanwhile.

use std::net::IpAddr;

/// The addresses of this machine's interfaces.
pub fn addresses() -> Vec<IpAddr> {
    let mut out = vec![];
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we only read, then free with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: ifa_addr points at a sockaddr whose family says which struct it is.
            let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
            if family == libc::AF_INET {
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                out.push(IpAddr::from(
                    u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                ));
            } else if family == libc::AF_INET6 {
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// The first of `hosts` (name, address) whose address is one of this machine's.
pub fn which_is_here<'a>(hosts: &[(&'a str, IpAddr)], mine: &[IpAddr]) -> Option<&'a str> {
    hosts
        .iter()
        .find(|(_, a)| mine.contains(a))
        .map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_one_of_ours_and_the_host_is_found_by_address() {
        let mine = addresses();
        assert!(mine.contains(&"127.0.0.1".parse().unwrap()), "{mine:?}");
        let hosts = [
            ("lb1", "192.0.2.1".parse().unwrap()),
            ("lb2", "127.0.0.1".parse().unwrap()),
        ];
        assert_eq!(which_is_here(&hosts, &mine), Some("lb2"));
        assert_eq!(which_is_here(&hosts[..1], &mine), None);
    }
}
