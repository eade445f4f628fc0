"""`memwarden demo`: a leaking web service under `memwarden run`, driven by a load client,
shown live. The bundled service is `memwarden.demo.app`; it ships with the package."""
