"""What tests/, bench/ and reliability/ share: a real server process (server_process), a real
OTLP receiver (otlp_receiver) and reading traces from it (traces), a TCP proxy to cut the
database off (tcp_proxy), collector faults (faults), polling with a deadline (polling), database
helpers (database), and the secrets audit of everything the service lets out (secrets_audit)."""
