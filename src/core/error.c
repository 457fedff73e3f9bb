/* Error strings and the library version. */
#include "internal.h"

const char *ami_version(void)
{
    return AMI_VERSION_STRING;
}

const char *ami_strerror(int code)
{
    switch (code) {
    case AMI_OK:
        return "success";
    case AMI_ERR_NOMEM:
        return "out of memory";
    case AMI_ERR_INVALID:
        return "invalid argument";
    case AMI_ERR_INJECTION:
        return "CR, LF or NUL in a header key or value (refused: it could inject a second action)";
    case AMI_ERR_BAD_KEY:
        return "invalid header key (empty, or contains ':')";
    case AMI_ERR_TOO_LONG:
        return "header line longer than Asterisk accepts (1024 bytes)";
    case AMI_ERR_TOO_MANY:
        return "more header lines than Asterisk accepts (128 per action)";
    case AMI_ERR_LINE_LIMIT:
        return "received line exceeds the parser's line limit";
    case AMI_ERR_HEADER_LIMIT:
        return "received packet exceeds the parser's header-count limit";
    case AMI_ERR_PACKET_LIMIT:
        return "received packet exceeds the parser's byte limit";
    case AMI_ERR_PROTOCOL:
        return "AMI protocol violation by the peer";
    case AMI_ERR_BAD_BANNER:
        return "not an AMI server (unexpected greeting)";
    case AMI_ERR_ACTION_FAILED:
        return "the server answered Response: Error";
    case AMI_ERR_TIMEOUT:
        return "timed out";
    case AMI_ERR_DISCONNECTED:
        return "connection closed";
    case AMI_ERR_CANCELLED:
        return "cancelled";
    case AMI_ERR_AUTH:
        return "authentication failed";
    case AMI_ERR_CONNECT:
        return "could not connect";
    case AMI_ERR_REFUSED:
        return "connection refused";
    case AMI_ERR_RESOLVE:
        return "host name could not be resolved";
    case AMI_ERR_EOF_BANNER:
        return "connection closed before the AMI banner";
    case AMI_ERR_IO:
        return "input/output error";
    case AMI_ERR_DUPLICATE_ID:
        return "an action with this ActionID is already pending";
    case AMI_ERR_STATE:
        return "call not allowed in the current state";
    case AMI_ERR_QUEUE_FULL:
        return "event queue full: read events to let more arrive";
    case AMI_ERR_UNSUPPORTED:
        return "feature not available in this build";
    case AMI_ERR_TLS:
        return "TLS handshake or transport failure";
    case AMI_ERR_TLS_VERIFY:
        return "the server's TLS certificate did not verify (wrong CA or host name)";
    case AMI_ERR_CLOSED:
        return "the server ended the session (Goodbye)";
    }
    return "unknown error";
}
