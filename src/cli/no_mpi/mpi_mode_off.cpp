// Built without -DHUBLOAD_MPI=ON: no mpirun mode, so each process started by
// mpirun is a plain, independent hubload.
#include "cli/mpi_mode.h"

namespace hubload::cli {

bool under_mpirun() { return false; }

Result<DownloadResult> mpi_download(std::string_view, const DownloadOptions&, MpiJob&) {
  return Error(ErrorKind::unsupported, "this hubload was built without the MPI mode (-DHUBLOAD_MPI=ON)");
}

Result<LoadedRank> mpi_load(const std::string&, const ShardPlan&, const LoadOptions&, int&, MpiJob&) {
  return Error(ErrorKind::unsupported, "this hubload was built without the MPI mode (-DHUBLOAD_MPI=ON)");
}

Result<LoadedRank> mpi_load_scattered(const Result<std::string>&, const PlanOptions&, const LoadOptions&, int&,
                                      MpiJob&) {
  return Error(ErrorKind::unsupported, "this hubload was built without the MPI mode (-DHUBLOAD_MPI=ON)");
}

}  // namespace hubload::cli
