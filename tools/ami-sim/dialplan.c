/* The sim's dialplan: the [test] context of the server the fixtures were
 * captured on, in extensions.conf order, with its line numbers, so that
 * "dialplan show" and GetConfig answer like that server did. */
#include "sim.h"

static const sim_prio plan[] = {
    {"100", 1, "Answer", "", 10},
    {"100", 2, "Wait", "2", 11},
    {"100", 3, "Hangup", "", 12},
    {"101", 1, "Answer", "", 15},
    {"101", 2, "UserEvent", "TestEvent,Foo: bar,Baz: value with: colon", 16},
    {"101", 3, "Wait", "1", 17},
    {"101", 4, "Hangup", "", 18},
    {"200", 1, "Answer", "", 21},
    {"200", 2, "Wait", "10", 22},
    {"200", 3, "Hangup", "", 23},
    {"201", 1, "Answer", "", 24},
    {"201", 2, "Wait", "10", 25},
    {"201", 3, "Hangup", "", 26},
    {"202", 1, "Answer", "", 27},
    {"202", 2, "Wait", "10", 28},
    {"202", 3, "Hangup", "", 29},
    {"300", 1, "Answer", "", 32},
    {"300", 2, "Queue", "support,,,,20", 33},
    {"300", 3, "Hangup", "", 34},
    {"301", 1, "Answer", "", 35},
    {"301", 2, "Queue", "sales,,,,30", 36},
    {"301", 3, "Hangup", "", 37},
    {"400", 1, "Dial", "Local/100@test,10", 40},
    {"400", 2, "Hangup", "", 41},
    {"500", 1, "NoOp", "originate target", 44},
    {"500", 2, "Set", "TESTVAR=hello", 45},
    {"500", 3, "UserEvent", "TestEvent,Foo: bar", 46},
    {"500", 4, "Dial", "Local/100@test,5", 47},
    {"500", 5, "Hangup", "", 48},
    {"wait", 1, "Answer", "", 51},
    {"wait", 2, "Wait", "15", 52},
    {"wait", 3, "Hangup", "", 53},
    {"bridged", 1, "Dial", "Local/wait@test,20", 54},
    {"bridged", 2, "Hangup", "", 55},
    {"echo", 1, "Answer", "", 57},
    {"echo", 2, "Echo", "", 58},
    {"moh", 1, "Answer", "", 60},
    {"moh", 2, "MusicOnHold", "default,10", 61},
    {"moh", 3, "Hangup", "", 62},
};

const sim_prio *sim_dialplan(size_t *count)
{
    *count = sizeof plan / sizeof plan[0];
    return plan;
}
