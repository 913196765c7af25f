//! Compile-time checks that the client and every method's future can cross
//! threads (`tokio::spawn`, axum handlers). Nothing here touches a server:
//! the futures are built and dropped unpolled.

use std::time::Duration;

use memcache_client::{
    Client, Expiry, MetaArithmeticFlags, MetaDeleteFlags, MetaGetFlags, MetaRequest, MetaSetFlags,
    StoreOptions,
};

fn send<T: Send>(_: T) {}

#[test]
fn client_and_method_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Client>();
    send_sync::<memcache_client::Error>();

    let c = Client::connect("127.0.0.1:1").unwrap();
    let o = StoreOptions::default();
    let ttl = Expiry::After(Duration::from_secs(1));
    let keys = ["a", "b"];
    let items = [("a", "1")];
    let meta = [MetaRequest::Get {
        key: b"a",
        flags: MetaGetFlags::default(),
    }];
    send(c.get("k"));
    send(c.gets("k"));
    send(c.gat("k", ttl));
    send(c.gats("k", ttl));
    send(c.get_many(&keys));
    send(c.gets_many(&keys));
    send(c.set("k", "v", o));
    send(c.add("k", "v", o));
    send(c.replace("k", "v", o));
    send(c.append("k", "v", o));
    send(c.prepend("k", "v", o));
    send(c.cas("k", "v", 1, o));
    send(c.set_many(&items, o));
    send(c.delete("k"));
    send(c.delete_noreply("k"));
    send(c.delete_many(&keys));
    send(c.incr("k", 1));
    send(c.decr("k", 1));
    send(c.incr_noreply("k", 1));
    send(c.decr_noreply("k", 1));
    send(c.touch("k", ttl));
    send(c.touch_noreply("k", ttl));
    send(c.version());
    send(c.stats(None));
    send(c.flush_all(None));
    send(c.verbosity(1));
    send(c.quit());
    send(c.meta_get("k", MetaGetFlags::default()));
    send(c.meta_set("k", "v", MetaSetFlags::default()));
    send(c.meta_delete("k", MetaDeleteFlags::default()));
    send(c.meta_arithmetic("k", MetaArithmeticFlags::default()));
    send(c.meta_debug("k"));
    send(c.meta_pipeline(&meta));
}
