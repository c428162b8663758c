"""The Coachmatch domain: services, persistence (a piccolo app) and policies."""
