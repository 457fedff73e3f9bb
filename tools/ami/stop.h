/* The stop request of the commands that run until told to (events, state
 * --until, top): SIGINT, SIGTERM or SIGHUP set a flag their loops check. */
#ifndef AMI_TOOL_STOP_H
#define AMI_TOOL_STOP_H

/* Install the handlers. No SA_RESTART: a blocked poll() returns early, and
 * each loop also bounds its poll() so a signal landing between the check
 * and the poll() is seen within one slice. */
void tool_stop_install(void);
/* The signal that asked to stop, 0 while none did. */
int tool_stop_signal(void);

#endif
