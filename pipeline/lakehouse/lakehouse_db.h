// The lakehouse database: one SQLite file, one writer at a time. Opened in
// WAL mode with synchronous=NORMAL (a commit survives a crash of the
// process; an OS crash may lose the last commits, never corrupt the file)
// and a busy timeout, so a reader or a second writer waits instead of
// failing at once. Raw loading, SQL models and the serving export all open
// it through here.
#pragma once

#include <string>

#include "schemas/db_backup.h"
#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

inline constexpr int kLakehouseBusyTimeoutMs = 30000;

// Creates the parent directories, opens (creating) the file and sets the
// pragmas above. The file must be sluice's (schemas/database_owner.h): new,
// stamped with sluice's application_id, or an unstamped lakehouse of an
// earlier release (it has `_sluice_loaded_files` or `_sluice_exports`),
// which is stamped here. Anything else is refused (Corruption) before a byte
// of it changes. Then a lakehouse of an earlier schema version is migrated
// (lakehouse_schema.h); one of a newer version is refused (Corruption).
Status OpenLakehouse(sluice::Database& db, const std::string& path);

// Opens an existing lakehouse read only, for looking without writing
// (`sluice models plan --lakehouse`): the file must exist and be sluice's,
// and its schema version no newer than this build's (an older one is read
// as it is, not migrated). NotFound when there is no file.
Status OpenLakehouseReadOnly(sluice::Database& db, const std::string& path);

// What a lakehouse snapshot must be to be restored (schemas/db_backup.h):
// "lakehouse", user_version 0..this build's (a lakehouse that has loaded
// nothing yet has no tables of its own).
backup::Subject LakehouseSubject();

}  // namespace sluice::lakehouse
