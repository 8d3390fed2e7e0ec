"""System checks for a safe production configuration (ids crds_server.security.E0xx/W0xx)."""

from __future__ import annotations
