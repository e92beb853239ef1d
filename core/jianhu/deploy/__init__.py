"""County deployment: the manifest, applying it to a database, and rendering server files."""
