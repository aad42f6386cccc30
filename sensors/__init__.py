"""Sensors of the spec2prod code location: the spec file sensor starts runs from `specs/*.md`."""

from sensors.spec_sensor import build_spec_sensor, spec_sensor_from_env

__all__ = ["build_spec_sensor", "spec_sensor_from_env"]
