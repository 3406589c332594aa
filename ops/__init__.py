"""Operations: liveness and readiness probes, Prometheus metrics; it reads every other app, so it sits on top."""
