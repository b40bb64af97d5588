"""voxsim: a local, offline emulator of the Voximplant platform."""

__version__ = "0.1.0"
