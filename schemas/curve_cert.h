// CURVE certificates: the key files of brokers, workers and clients.
//
// A key file is in CZMQ's certificate text format (ZPL), so other ZeroMQ
// tools read ours and we read theirs:
//
//   #   ZeroMQ CURVE **Secret** Certificate
//   metadata
//   curve
//       public-key = "<40 characters of Z85>"
//       secret-key = "<40 characters of Z85>"
//
// `NAME.key` holds both keys (mode 0600); `NAME.pub` the public key alone.
// A file is untrusted input: it is read up to 64 KiB, line by line, and a
// key must be 40 characters of valid Z85 (32 bytes).
#pragma once

#include <string>
#include <string_view>

#include <zmq.hpp>

#include "schemas/status.h"

namespace sluice::curve {

inline constexpr std::size_t kKeyZ85Length = 40;
inline constexpr std::size_t kMaxCertBytes = 64 * 1024;

struct KeyPair {
  std::string public_z85;
  std::string secret_z85;  // empty for a public certificate
};

// True for 40 characters of valid Z85.
bool IsZ85Key(std::string_view key);

// Parses a certificate's text. `what` names it in errors (a path). The
// public key is required; the secret key is returned when present.
Result<KeyPair> ParseCert(std::string_view text, const std::string& what);

// The text of a certificate: with the secret key when `secret`.
std::string FormatCert(const KeyPair& keys, bool secret);

// Reads NAME.key: both keys required. Refused when the file is readable or
// writable by group or others (as ssh refuses such a private key).
Result<KeyPair> ReadSecretCert(const std::string& path);
// Reads a certificate's public key (a .pub, or a .key).
Result<std::string> ReadPublicKey(const std::string& path);

// Generates a key pair and writes DIR/NAME.key (0600) and DIR/NAME.pub
// (0644). Refuses to overwrite either file (Conflict), and a NAME that is
// not a plain file name (InvalidArgument). Sets the two paths written.
Status WriteNewCert(const std::string& dir, const std::string& name, std::string* key_path,
                    std::string* pub_path);

// A client's or worker's keys: its own pair and the broker's public key.
struct ClientKeys {
  KeyPair own;
  std::string server_z85;
};
// Reads --curve-key and --broker-key. Both or neither: one alone is
// InvalidArgument; neither gives an empty result (no CURVE).
Result<ClientKeys> LoadClientKeys(const std::string& key_file, const std::string& broker_key_file);
// Makes `socket` a CURVE client of the broker (before connect). Does nothing
// when `keys.server_z85` is empty.
void ApplyClientKeys(zmq::socket_t& socket, const ClientKeys& keys);

}  // namespace sluice::curve
