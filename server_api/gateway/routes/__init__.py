"""HTTP endpoints: `kiosk` (devices) and `admin` (staff)."""
