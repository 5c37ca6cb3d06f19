"""Tests of the Azure DevOps emulator (all traffic on 127.0.0.1)."""
