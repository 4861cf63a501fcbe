#pragma once

#include <sys/socket.h>  // setsockopt, linger

namespace strata::detail {

// Makes the socket's last close an abort (RST) that throws away whatever the
// server has not acknowledged yet. A client that gives up on a call (no reply
// within its timeout: a partition, a lost route) must not let TCP retransmit
// the request once the network heals: the server would apply it after the
// caller was told it failed, over anything written since.
inline void abort_on_close(int fd) noexcept {
    const ::linger abort{1, 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
}

}  // namespace strata::detail
