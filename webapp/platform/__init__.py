"""The platform every domain package builds on: domain errors, durable work and its dispatcher, Redis and RQ
queues, the run command's supervisor and embedded Redis, and the guard on outbound URLs.

Owns no business rule of its own. May import ``webapp.models`` and ``webapp.extensions``, never a domain
package (``webapp.profiles``, ``webapp.imports``, …): they register with it (work kinds, housekeeping) instead.
"""
