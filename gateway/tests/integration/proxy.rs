//! `X-Forwarded-For` from trusted proxies: the limiter keys on the client, not the proxy.

use consult_sdk::protocol::LaunchRequest;

use crate::common::*;

async fn launch_via(s: &Server, xff: Option<&str>) -> u16 {
    let mut b = s.http.post(s.url("/v1/launch")).header("origin", SHOP_ORIGIN).json(&LaunchRequest { channel: "shop".into(), ..Default::default() });
    if let Some(x) = xff {
        b = b.header("x-forwarded-for", x);
    }
    b.send().await.unwrap().status().as_u16()
}

fn config(trusted: &str) -> String {
    let dir = temp_dir("proxy");
    config_toml(&dir.join("c.db"), 2).replace("[server]", &format!("[server]\ntrusted_proxies = [{trusted}]"))
}

#[tokio::test]
async fn a_trusted_proxy_passes_on_each_clients_own_bucket() {
    let s = Server::start_toml(&config(r#""127.0.0.1/32""#)).await;
    // Client A uses its burst of 2 and is refused.
    for _ in 0..2 {
        assert_eq!(launch_via(&s, Some("203.0.113.7")).await, 200);
    }
    assert_eq!(launch_via(&s, Some("203.0.113.7")).await, 429);
    // Client B, same proxy: its own bucket.
    assert_eq!(launch_via(&s, Some("198.51.100.9")).await, 200);

    // What a client writes left of the real hop is ignored: A cannot escape by inventing hops,
    // and cannot spend B's tokens by naming B.
    assert_eq!(launch_via(&s, Some("10.9.9.9, 203.0.113.7")).await, 429);
    assert_eq!(launch_via(&s, Some("198.51.100.9, 203.0.113.7")).await, 429);
    assert_eq!(launch_via(&s, Some("198.51.100.9")).await, 200);
}

#[tokio::test]
async fn chains_of_trusted_proxies_are_walked_to_the_first_untrusted_hop() {
    // Our own proxy (127.0.0.1) behind a load balancer in 10.0.0.0/8.
    let s = Server::start_toml(&config(r#""127.0.0.1", "10.0.0.0/8""#)).await;
    for _ in 0..2 {
        assert_eq!(launch_via(&s, Some("203.0.113.7, 10.1.2.3")).await, 200);
    }
    // The same client through another balancer node: same bucket.
    assert_eq!(launch_via(&s, Some("203.0.113.7, 10.4.5.6")).await, 429);
    // Another client through the same node: its own.
    assert_eq!(launch_via(&s, Some("198.51.100.9, 10.1.2.3")).await, 200);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let s = Server::start_toml(&config(r#""192.0.2.1""#)).await;
    assert_eq!(launch_via(&s, Some("203.0.113.1")).await, 200);
    assert_eq!(launch_via(&s, Some("203.0.113.2")).await, 200);
    // Both counted against the real peer, 127.0.0.1.
    assert_eq!(launch_via(&s, Some("203.0.113.3")).await, 429);
}
