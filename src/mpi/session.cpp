// MPI_Init only when nobody did: an engine that runs hubload inside its own MPI
// job keeps its initialisation (and its thread level).
#include <fmt/format.h>

#include "hubload/mpi.h"

namespace hubload {

Result<MpiSession> MpiSession::start(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return MpiSession(false);
  int provided = 0;
  // Funneled: hubload's own threads (the Hub fetcher, I/O workers) never call MPI.
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    return Error(ErrorKind::internal, "MPI_Init_thread failed");
  }
  return MpiSession(true);
}

MpiSession::~MpiSession() {
  if (!owns_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace hubload
