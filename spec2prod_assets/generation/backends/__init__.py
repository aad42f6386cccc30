"""The test generators behind the `TestGenerator` protocol: CrossHair (built in) and OpenHands."""
