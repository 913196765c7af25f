//! memcached's ASCII protocol authentication (`memcached -Y <auth file>`).
//!
//! A server started with `-Y` answers every command of an unauthenticated
//! connection with `CLIENT_ERROR unauthenticated` until it receives
//! `set <any key> 0 0 <len>` whose data is `<user> <password>`. Each new
//! connection is authenticated before it enters the pool.
//!
//! The credentials are sent only after `version` proved the server wants
//! them: a server without `-Y` would otherwise store the password as an
//! ordinary item, readable by anyone who can read the cache.

use std::fmt;

use memcache_codec::{Limits, Request, Response, StoreCommand};

use crate::conn::Conn;
use crate::exchange::Single;
use crate::{Error, Result};

/// The key of the authentication `set`; memcached ignores it.
const AUTH_KEY: &[u8] = b"auth";

/// A user name and password from the server's auth file (`user:password`).
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Both must be non-empty printable ASCII without spaces: they travel as
    /// `<user> <password>` in one data block.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Result<Credentials> {
        let (username, password) = (username.into(), password.into());
        let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(&username) || !printable(&password) {
            return Err(Error::Config(
                "credentials must be non-empty printable ASCII without spaces".into(),
            ));
        }
        Ok(Credentials { username, password })
    }

    /// The user name (the password is never shown).
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Authenticates a fresh connection, if the server asks for it.
pub(crate) async fn authenticate(
    conn: &mut Conn,
    credentials: &Credentials,
    limits: &Limits,
) -> Result<()> {
    let mut probe = Single::new(Request::Version);
    match conn.run(&mut probe, limits).await {
        // No authentication required: do not send the password.
        Ok(()) => return Ok(()),
        // `CLIENT_ERROR unauthenticated`: the server wants credentials. The
        // exchange marked the connection out of step; it is, after this
        // complete line, in step again.
        Err(Error::Client(_)) => conn.mark_in_step(),
        Err(e) => return Err(e),
    }
    let token = format!("{} {}", credentials.username, credentials.password);
    let mut login = Single::new(Request::Store {
        command: StoreCommand::Set,
        key: AUTH_KEY,
        flags: 0,
        exptime: 0,
        value: token.as_bytes(),
        noreply: false,
    });
    match conn.run(&mut login, limits).await {
        Ok(()) if matches!(login.reply, Some(Response::Stored)) => Ok(()),
        Ok(()) => Err(Error::UnexpectedResponse {
            command: "authentication",
        }),
        // `CLIENT_ERROR authentication failure`; the connection is dropped.
        Err(Error::Client(_)) => Err(Error::AuthFailed),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unsendable_credentials_and_hides_the_password() {
        assert!(Credentials::new("", "p").is_err());
        assert!(Credentials::new("u", "with space").is_err());
        assert!(Credentials::new("u", "line\r\nbreak").is_err());
        let c = Credentials::new("alice", "hunter2").unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
