// DecodeRequest: a message body read the way its receiver reads it, chosen
// by the command byte (frame 1, protocol.h). One entry point for every
// command of PROTOCOL.md §3:
//
//   READY HEARTBEAT RESULT BYE       worker -> broker   the messages.h codecs
//   JOB CANCEL ACK ERROR BYE         broker -> worker   the messages.h codecs
//   HEARTBEAT                        broker -> worker   (the same codec)
//   SUBMIT                           client -> broker   the messages.h codec
//   STATUS RETRY CANCEL_JOB          client -> broker   {req, id}: a job id
//                                                       (STATUS, CANCEL_JOB:
//                                                       or a run id)
//   LIST                             client -> broker   {req, state?, queue?, kind?, limit?}
//   EXTRACTIONS                      client -> broker   {req, source?, limit?}
//   RUN                              client -> broker   {req, workflow, params?: {name: str}}
//   RUNS                             client -> broker   {req, workflow?, state?, limit?}
//   PAUSE RESUME                     client -> broker   {req, workflow}
//   WORKERS STATS SCHEDULES RELOAD   client -> broker   {req}: a map with `req`
//   REPLY                            broker -> client   a map with `req` and `ok`
//
// STATUS .. RELOAD are read with the typed codecs of requests.h, the ones
// the broker's handlers decode with: one strictness (`req` required, names
// by the name rule, `limit` at most 10,000, states checked).
//
// It is the contract the wire fuzzer (tests/fuzz/fuzz_wire.cc) drives, so
// the fuzzer keeps working when the codecs behind it are rewritten; a
// receiver may call it to validate a body before acting on it.
//
// Every `str` of a client -> broker body (SUBMIT .. RELOAD), at any depth,
// keys and unread fields included, must be UTF-8 (utf8_scan.h).
//
// Returns OK when the receiver would act on the body; otherwise the Status
// the receiver answers with: InvalidArgument (bad_request) naming the
// command and the field, NotFound for an id that is no job or run id. A
// byte that is no command is InvalidArgument "unknown command 0x..".
// Never throws.
#pragma once

#include <cstdint>
#include <string_view>

#include "schemas/status.h"

namespace sluice::proto {

Status DecodeRequest(std::uint8_t command, std::string_view body);

}  // namespace sluice::proto
