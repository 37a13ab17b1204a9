"""LTI 1.3: Thetapath as a tool that institutions' learning platforms launch (issue 13)."""
