"""The loader against a fault-injecting proxy in front of moto: throttling, resets, cut bodies, redirects."""
