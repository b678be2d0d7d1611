import {h} from '../dom.js';
export function logsTab(tab) { tab.el.append(h('p', null, 'logs')); }
