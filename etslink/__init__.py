"""The emulator shell: session and scenario files, the CLI, reports."""
