// Package backuparchive reads and writes Backpack's backup archive: one stream holding a whole
// backend, checked entry by entry against a manifest before anything in it is used. It knows
// nothing of the app; callers decide what the entries mean.
//
// # Format (version 1)
//
// An archive is a tar stream (POSIX PAX headers, as archive/tar writes them). Compression, if
// any, is the caller's business and wraps the whole stream.
//
//   - Every entry is a regular file (typeflag '0'); directories, links, devices, sparse files
//     and global headers are refused. Headers carry mode 0600 and the archive's creation time;
//     readers ignore both.
//   - Entry names are relative slash-separated paths of valid UTF-8: at most 1024 bytes, each
//     element at most 255 bytes and none empty, "." or "..", no control characters (NUL
//     included) and no backslash. No name appears twice, and no name is also the directory of
//     another ("a" and "a/b" cannot both exist), so the entries can always be laid out as files.
//   - The last entry is "manifest.json", the only entry whose first element is "manifest.json":
//     {"format": "backpack-backup", "version": 1, "createdAt": RFC 3339 time,
//     "source": {string: string}, "counts": {string: int},
//     "entries": [{"name", "size", "sha256": lowercase hex}]}
//     listing every other entry, in archive order. Its size is bounded by its entries (1 MiB
//     plus 256 bytes and twice the name's length per entry), so a reader can hold it in memory.
//   - After the manifest come the tar trailer (two zero blocks) and, optionally, more zero
//     bytes (tar's record padding), at most 1 MiB; nothing else.
//
// Writer produces archives; entries whose size is known are streamed straight through (Add),
// others are spooled first (Create). Verify checks a whole untrusted archive and returns its
// manifest; Open then reads an archive that passed Verify, checking each entry again as it goes.
// Both refuse bad archives with *Error, whose message is fit for an API answer. Lines reads an
// entry of JSON lines with a bound on each line.
package backuparchive
