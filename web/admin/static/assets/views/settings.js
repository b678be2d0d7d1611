import {h} from '../dom.js';
export function settingsView(ctx) { ctx.main.append(h('h1', null, 'Settings')); }
