"""The listeners' TLS from `--web.config.file`'s tls_server_config (config/webfile.py).

Building a context reads the certificate, key and client CA files; a reload builds a fresh
one, so a client CA removed from the file stops being trusted.
"""

from __future__ import annotations

import ssl

from exporter.config.webfile import TlsConfig


def ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """A fresh server context for `tls` (reads the certificate, key and client CA files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = tls.min_version
    if tls.max_version is not None:
        context.maximum_version = tls.max_version
    context.load_cert_chain(tls.cert_file, tls.key_file)
    context.verify_mode = tls.client_auth
    if tls.client_ca_file is not None:
        context.load_verify_locations(cafile=tls.client_ca_file)
    return context


class ServerTls:
    """The listeners' TLS: every handshake goes on with a context built from the latest file.

    A listening socket keeps the context it was created with, and loading certificates
    into a live context only adds to it: a client CA removed from the file would stay
    trusted. So the listeners hold `listener`, whose SNI callback (called on every
    handshake, with or without SNI) switches the connection to `current`, which a reload
    replaces with a context built from scratch. OpenSSL takes the certificate, key and
    trusted CAs from the switched-to context, but the connection's verify mode from the
    listener's: changing client_auth_type takes a restart.
    """

    def __init__(self, tls: TlsConfig) -> None:
        self.tls = tls
        self.current = ssl_context(tls)
        self.listener = ssl_context(tls)
        self.listener.sni_callback = self._switch

    def reload(self, tls: TlsConfig) -> None:
        """Build a fresh context from `tls`; on an error (OSError, SSLError) keep the old one."""
        self.current = ssl_context(tls)
        self.tls = tls

    def _switch(
        self, connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        connection.context = self.current
