import {h} from '../dom.js';
export function filesTab(tab) { tab.el.append(h('p', null, 'files')); }
