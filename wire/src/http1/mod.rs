//! HTTP/1.1 as RFC 9110 (semantics) and RFC 9112 (message syntax) define it, without I/O.
