/*
 * Device states by Device: DeviceStateChange, which is also the item
 * event of DeviceStateList.
 */
#include "state_internal.h"

int ami__st_device_event(ami_state *st, int what, const ami_packet *ev)
{
    (void)what;
    size_t dl = 0, sl = 0;
    const char *dev = ami_packet_getn(ev, "Device", &dl);
    const char *state = ami_packet_getn(ev, "State", &sl);
    if (!dev || !dl || !state) {
        st->stats.contradictions++;
        return 0;
    }
    st_patch p;
    p.n = 0;
    ami__st_patch_adds(&p, "Device", dev, dl);
    ami__st_patch_adds(&p, "State", state, sl);
    ami_state_object *o;
    return ami__st_upsert(st, AMI_STATE_DEVICE, dev, dl, &p, true, &o);
}
